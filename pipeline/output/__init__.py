"""What newsbeam writes: dataset files (``files``), the batch writers (``datasets``), publishing a
batch run (``publish``), the streaming writers (``live``), and which directories it may write
into at all (``ownership``)."""

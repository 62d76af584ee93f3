"""Articles the stories tests share, written here: four short Port Alder stories that share the
city, its mayor and its council (different events), two rewrites of one of them, and four Putin-Xi
stories that share every famous name (different events). Their entities are what spaCy's small
English model finds in them (given as dicts, so only the seeds test needs spaCy).
"""
from pipeline.stages.identify import identify


PORT_ALDER = {
    "bridge": (
        "Port Alder council approves Kestrel Bridge replacement",
        "The Port Alder City Council voted 7-2 on Tuesday to replace the Kestrel Bridge, the rusting "
        "steel crossing over the Varne estuary that engineers closed to trucks last winter. Mayor Elena "
        "Vasquez said the new span, designed by the firm Halvorsen & Pike, would carry a cycle lane and "
        "two bus lanes. Construction is expected to begin in the spring and take three years. During the "
        "works a temporary ferry will run between the Quayside and Millbank piers every twenty minutes. "
        "Councillors who voted against the plan said its cost, largely paid by a state infrastructure "
        "grant, had doubled since the first estimate. Halvorsen & Pike said corrosion in the cables made "
        "repairs pointless.",
        [("Port Alder City Council", "ORG", 1), ("Kestrel Bridge", "ORG", 1), ("Varne", "PERSON", 1),
         ("Elena Vasquez", "PERSON", 1), ("Halvorsen & Pike", "ORG", 2), ("Quayside", "ORG", 1),
         ("Millbank", "PERSON", 1)]),
    "library": (
        "Mayor orders Wexley library closed after flood",
        "Mayor Elena Vasquez ordered the Wexley branch library in Port Alder closed indefinitely on Monday "
        "after floodwater from a burst water main soaked its basement archive. Staff and volunteers spent "
        "the weekend carrying rare maps and parish registers to a dry storeroom at the town hall. The City "
        "Council will meet next week to decide whether to repair the nineteenth-century building or move "
        "the collection to the new community centre. Librarian Tomasz Grell said about a tenth of the "
        "local history collection was damaged beyond repair, and insurers have been called in to assess "
        "the mould.",
        [("Elena Vasquez", "PERSON", 1), ("Wexley", "ORG", 1), ("Port Alder", "GPE", 1),
         ("City Council", "ORG", 1), ("Tomasz Grell", "PERSON", 1)]),
    "fire": (
        "Fire destroys grain silo at Port Alder harbour",
        "A fire tore through a grain silo at the Port Alder harbour terminal overnight, sending a column of "
        "black smoke over the Varne estuary. Fire chief Adaeze Okafor said forty firefighters fought the "
        "blaze for six hours and nobody was hurt. Investigators suspect a dust explosion in a conveyor "
        "belt. Mayor Elena Vasquez visited the site on Thursday and said shipping would resume once the "
        "harbour authority declared the quay safe. Two freighters waiting to load barley were diverted to "
        "a neighbouring port, and the City Council has asked for a report on safety inspections at the "
        "terminal.",
        [("Port Alder", "LOC", 1), ("Varne", "PERSON", 1), ("Adaeze Okafor", "PERSON", 1),
         ("Elena Vasquez", "PERSON", 1), ("City Council", "ORG", 1)]),
    "strike": (
        "Port Alder teachers strike over pay",
        "Teachers in Port Alder walked out on Wednesday, closing eleven schools, after talks over pay and "
        "class sizes collapsed. Union leader Marisol Brandt said salaries had fallen behind rents in the "
        "city for a decade. Mayor Elena Vasquez urged both sides to return to mediation and said the City "
        "Council could not raise the education budget without cutting other services. Parents organised "
        "makeshift classes in church halls, and the union said the strike would continue until the "
        "school board made a written offer.",
        [("Port Alder", "GPE", 1), ("Marisol Brandt", "PERSON", 1), ("Elena Vasquez", "PERSON", 1),
         ("City Council", "ORG", 1)]),
}


#: Rewrites of the bridge story: a paraphrase and a rewritten copy (almost no shared 5-grams).
BRIDGE_REWRITES = {
    "bridge_paraphrase": (
        "Kestrel Bridge to be rebuilt after council vote",
        "Port Alder's aging Kestrel Bridge will be torn down and rebuilt, councillors decided on Tuesday "
        "in a seven to two vote. The corroded steel bridge across the Varne estuary has been off limits to "
        "lorries since last winter. According to Mayor Elena Vasquez, the replacement drawn up by "
        "Halvorsen & Pike will include bus lanes and a bike path. Work should start in spring and last "
        "about three years, with a stopgap ferry linking Quayside and Millbank. Opponents on the council "
        "objected that the price tag, mostly covered by state infrastructure money, has doubled. The "
        "engineers said the cables were too corroded to repair.",
        [("Port Alder", "PERSON", 1), ("Kestrel Bridge", "PERSON", 1), ("Varne", "PERSON", 1),
         ("Elena Vasquez", "PERSON", 1), ("Halvorsen & Pike", "ORG", 1), ("Quayside", "ORG", 1),
         ("Millbank", "PERSON", 1)]),
    "bridge_rewrite": (
        "Councillors back new Kestrel crossing",
        "Councillors in Port Alder backed a plan on Tuesday to replace the Kestrel Bridge over the Varne "
        "estuary. The steel bridge, which has rust damage, was shut to heavy trucks last winter. Designers "
        "Halvorsen & Pike propose a new crossing with dedicated bus lanes and a cycle lane, Mayor Elena "
        "Vasquez said. Building work is due to start in spring. While the bridge is shut, a ferry will "
        "shuttle between the Millbank and Quayside piers. Two councillors voted no, citing a cost that "
        "has doubled, although a state grant pays most of it.",
        [("Port Alder", "GPE", 1), ("Varne", "PERSON", 1), ("Halvorsen & Pike", "ORG", 1),
         ("Elena Vasquez", "PERSON", 1), ("Millbank", "ORG", 1), ("Quayside", "ORG", 1)]),
}


#: Same people and places, different events: a Putin-Xi meeting is not every Putin-Xi meeting.
PUTIN_XI = {
    "forum": (
        "Putin arrives in Beijing for Belt and Road forum",
        "Russian President Vladimir Putin arrived in Beijing on Tuesday for a forum marking ten years of "
        "Chinese leader Xi Jinping's Belt and Road infrastructure initiative. Delegations from more than "
        "a hundred countries are attending. Putin is expected to praise the programme of loans for ports, "
        "railways and power plants, which critics say has saddled poorer nations with debt. The Kremlin "
        "said Putin and Xi would also discuss energy supplies and payments in yuan.",
        [("Russian", "NORP", 1), ("Vladimir Putin", "PERSON", 3), ("Beijing", "GPE", 1),
         ("Chinese", "NORP", 1), ("Xi Jinping", "PERSON", 2), ("Kremlin", "ORG", 1)]),
    "moscow": (
        "Xi visits Moscow as Kremlin weighs Ukraine peace proposal",
        "Chinese President Xi Jinping arrived in Moscow for a three-day state visit, his first trip abroad "
        "since securing a third term. Xi and Vladimir Putin dined in the Kremlin and discussed Beijing's "
        "twelve-point position paper on the war in Ukraine, which Western governments dismissed as "
        "vague. Russia said it welcomed the proposal. The two leaders signed agreements on a Power of "
        "Siberia 2 gas pipeline and on closer cooperation in the Arctic shipping route.",
        [("Chinese", "NORP", 1), ("Xi Jinping", "PERSON", 2), ("Moscow", "GPE", 1),
         ("Vladimir Putin", "PERSON", 1), ("Kremlin", "ORG", 1), ("Beijing", "GPE", 1), ("Ukraine", "GPE", 1),
         ("Western", "NORP", 1), ("Russia", "GPE", 1), ("Power of Siberia 2", "WORK_OF_ART", 1),
         ("Arctic", "LOC", 1)]),
    "call": (
        "Putin and Xi hold video call at year end",
        "Vladimir Putin and Xi Jinping held an hour-long video call on Friday, exchanging greetings before "
        "the new year. Putin invited Xi to visit Moscow in the spring and praised record trade between "
        "Russia and China. Xi said Beijing was ready to deepen military cooperation, according to the "
        "Chinese foreign ministry's readout. Neither leader mentioned the talks on a price cap for Russian "
        "oil imposed by Western nations.",
        [("Vladimir Putin", "PERSON", 2), ("Xi Jinping", "PERSON", 3), ("Moscow", "GPE", 1),
         ("Russia", "GPE", 1), ("China", "GPE", 1), ("Beijing", "GPE", 1), ("Chinese", "NORP", 1),
         ("Russian", "NORP", 1)]),
    "drills": (
        "Russian and Chinese warships begin joint drills",
        "Russian and Chinese navies began joint exercises in the East China Sea on Wednesday, with "
        "destroyers, a submarine and anti-ship missile firings planned over a week. The drills follow a "
        "pledge by Vladimir Putin and Xi Jinping to expand military ties. Japan's defence ministry said it "
        "was monitoring the ships closely. Beijing said the manoeuvres were not aimed at any third "
        "country.",
        [("Russian", "NORP", 1), ("Chinese", "NORP", 1), ("East China Sea", "LOC", 1),
         ("Vladimir Putin", "PERSON", 1), ("Xi Jinping", "PERSON", 1), ("Japan", "GPE", 1),
         ("defence ministry", "ORG", 1), ("Beijing", "GPE", 1)]),
}


ALL_FIXTURES = {**PORT_ALDER, **BRIDGE_REWRITES, **PUTIN_XI}


BRIDGE_STORY = ("bridge", "bridge_paraphrase", "bridge_rewrite")


def entities(spec):
    return [{"text": name, "label": label, "canonical": name, "count": count, "first_offset": 0}
            for name, label, count in spec]


def make(name: str, published_at=None, fmt: str = "jsonl", lang: str = "en") -> dict:
    """A canonical article as the stories stage receives it (identify sets id and word_count)."""
    title, text, ents = ALL_FIXTURES[name]
    article = identify({"url": f"https://news.example/{name}", "title": title, "text": text, "lang": lang,
                        "source": "news.example", "published_at": published_at, "authors": [],
                        "provenance": {"input_uri": f"in/{name}.json", "offset": 0, "format": fmt}})
    article["entities"] = entities(ents)
    return article

"""A small multilingual dev set written for newsbeam: one short news story each in Japanese,
Chinese, Korean, Thai, Arabic, Russian and Turkish, with its site's navigation and footer, laid
out in three page templates. Ground truth: the story's paragraphs, title, author and time.

Used by the clean tests (word counts, extraction, rules in scripts without spaces) and by
bench/multilingual.py (F1 with bench/extraction.py's metric, before/after comparisons).
"""
from __future__ import annotations

import html as _html
from typing import NamedTuple


class Story(NamedTuple):
    lang: str
    title: str
    site: str
    author: str
    published: str  # as the page states it (ISO 8601 with offset)
    published_utc: str
    paragraphs: tuple
    nav: tuple  # menu items (navigation that must not end up in the text)
    footer: tuple  # footer / related links (must not end up in the text)


STORIES = (
    Story(
        "ja", "東京都、来年度から公立小学校の給食費を無償化へ", "東都新聞", "山田太郎",
        "2023-10-17T14:30:00+09:00", "2023-10-17T05:30:00Z",
        ("東京都は十七日、来年度から都内の公立小学校に通う児童の給食費を全額補助すると発表した。"
         "対象はおよそ六十万人で、年間の予算は約三百億円に上る見通しだ。",
         "小池知事は記者会見で「子育て世帯の負担を少しでも減らしたい」と述べ、区市町村と協力して"
         "早期に実施する考えを示した。",
         "都によると、物価の上昇で食材費が高騰しており、多くの自治体が給食費の値上げを検討していた。"
         "保護者からは歓迎する声が上がっている。",
         "一方で、財源の確保や私立学校との格差を懸念する意見もあり、都議会での議論が注目される。"),
        ("ホーム", "ニュース", "政治", "経済", "スポーツ"),
        ("利用規約", "お問い合わせ", "会社概要"),
    ),
    Story(
        "zh", "北京地铁新线路今日开通运营", "京华日报", "王小明",
        "2023-10-17T09:00:00+08:00", "2023-10-17T01:00:00Z",
        ("北京市轨道交通建设管理有限公司十七日宣布，地铁十七号线北段今天上午正式开通运营，"
         "全长约十五公里，共设七座车站。",
         "新线路连接昌平区和朝阳区，预计每天可以服务乘客超过二十万人次，将大大缓解沿线地区的交通压力。",
         "市民李先生说：“以前上班要换乘两次，现在一趟就到了，节省了将近半个小时。”",
         "据介绍，该线路南段预计明年年底前建成，届时全线将贯通。"),
        ("首页", "新闻", "财经", "体育", "娱乐"),
        ("联系我们", "关于我们", "广告服务"),
    ),
    Story(
        "ko", "서울시, 내년부터 대중교통 요금 인상", "한빛일보", "김민수",
        "2023-10-17T10:15:00+09:00", "2023-10-17T01:15:00Z",
        ("서울시는 17일 내년 1월부터 지하철과 시내버스 기본요금을 각각 150원씩 인상한다고 밝혔다. "
         "요금 인상은 8년 만이다.",
         "시 관계자는 기자회견에서 \"운영 적자가 계속 늘어나 더 이상 요금을 동결하기 어려운 상황\"이라고 설명했다.",
         "시민단체들은 물가 상승으로 서민들의 부담이 커지고 있다며 인상 계획을 재검토해야 한다고 주장했다.",
         "서울시는 청소년과 노인에 대한 할인 혜택은 그대로 유지할 계획이다."),
        ("홈", "뉴스", "정치", "경제", "스포츠"),
        ("회사소개", "이용약관", "고객센터"),
    ),
    Story(
        "th", "กรุงเทพฯ เตรียมเปิดสวนสาธารณะแห่งใหม่ริมแม่น้ำเจ้าพระยา", "ข่าวเมือง", "สมชาย ใจดี",
        "2023-10-17T16:45:00+07:00", "2023-10-17T09:45:00Z",
        ("กรุงเทพมหานครประกาศเมื่อวันอังคารว่าจะเปิดสวนสาธารณะแห่งใหม่ริมแม่น้ำเจ้าพระยาในเดือนธันวาคมนี้ "
         "โดยมีพื้นที่กว่าสามสิบไร่",
         "ผู้ว่าราชการกรุงเทพมหานครกล่าวว่าสวนแห่งนี้จะเป็นพื้นที่สีเขียวสำหรับประชาชนที่อาศัยอยู่ในย่านเมืองเก่า "
         "และจะมีทางเดินริมน้ำยาวกว่าสองกิโลเมตร",
         "ชาวบ้านในพื้นที่ต่างแสดงความยินดี และหวังว่าสวนใหม่จะช่วยลดปัญหาฝุ่นละอองในช่วงฤดูหนาว"),
        ("หน้าแรก", "ข่าว", "การเมือง", "กีฬา", "บันเทิง"),
        ("ติดต่อเรา", "เกี่ยวกับเรา", "นโยบายความเป็นส่วนตัว"),
    ),
    Story(
        "ar", "افتتاح أكبر محطة للطاقة الشمسية في المنطقة", "الخبر اليوم", "أحمد حسن",
        "2023-10-17T11:20:00+03:00", "2023-10-17T08:20:00Z",
        ("افتتحت الحكومة يوم الثلاثاء أكبر محطة للطاقة الشمسية في المنطقة، بقدرة إنتاجية تصل إلى ألفي "
         "ميغاواط، وهو ما يكفي لتزويد نحو مليون منزل بالكهرباء.",
         "وقال وزير الطاقة في مؤتمر صحفي إن المشروع يمثل خطوة مهمة نحو تحقيق أهداف البلاد في خفض "
         "الانبعاثات الكربونية بحلول عام 2030.",
         "وأضاف أن المحطة وفرت أكثر من ثلاثة آلاف فرصة عمل خلال مرحلة البناء، وأن الحكومة تخطط لإنشاء "
         "محطتين أخريين خلال السنوات الخمس المقبلة."),
        ("الرئيسية", "أخبار", "اقتصاد", "رياضة"),
        ("اتصل بنا", "من نحن", "سياسة الخصوصية"),
    ),
    Story(
        "ru", "В Москве открылась новая станция метро", "Городские вести", "Иван Петров",
        "2023-10-17T12:00:00+03:00", "2023-10-17T09:00:00Z",
        ("Во вторник в Москве открылась новая станция метро «Южная долина», сообщил мэр города на своей "
         "странице в социальной сети.",
         "По его словам, станция позволит сократить время поездки до центра города почти на двадцать минут "
         "для жителей нескольких районов.",
         "Строительство станции началось три года назад и обошлось городскому бюджету более чем в десять "
         "миллиардов рублей."),
        ("Главная", "Новости", "Политика", "Спорт"),
        ("Контакты", "О нас", "Реклама"),
    ),
    Story(
        "tr", "İstanbul'da yeni köprü trafiğe açıldı", "Haber Merkezi", "Ayşe Yılmaz",
        "2023-10-17T15:40:00+03:00", "2023-10-17T12:40:00Z",
        ("İstanbul'da Haliç üzerinde inşa edilen yeni köprü salı günü düzenlenen törenle trafiğe açıldı. "
         "Köprünün günde yaklaşık yüz bin aracın geçişine imkân sağlaması bekleniyor.",
         "Törende konuşan belediye başkanı, projenin şehir içi ulaşımı önemli ölçüde rahatlatacağını ve "
         "bölgedeki trafik yoğunluğunu azaltacağını söyledi.",
         "Köprünün yapımı iki yıl sürdü ve toplam maliyeti 1,2 milyar lira olarak açıklandı."),
        ("Anasayfa", "Gündem", "Ekonomi", "Spor"),
        ("İletişim", "Künye", "Gizlilik"),
    ),
)

TEMPLATES = ("semantic", "divs", "flat")


def _e(text: str) -> str:
    return _html.escape(text, quote=True)


def page(story: Story, template: str) -> str:
    """The story as a whole HTML page in one of TEMPLATES:

    ``semantic``  <header><nav>, <article> with <h1>, byline and <time>, <footer>; JSON-LD.
    ``divs``      div soup with class names, a "most read" sidebar, meta tags only.
    ``flat``      nav and footer items as short text lines around the story in one <div>
                  (what a page looks like when extraction keeps them: left to the clean rules).
    """
    nav_links = "".join(f'<li><a href="/{i}">{_e(n)}</a></li>' for i, n in enumerate(story.nav))
    foot_links = "".join(f'<li><a href="/f{i}">{_e(n)}</a></li>' for i, n in enumerate(story.footer))
    body = "".join(f"<p>{_e(p)}</p>\n" for p in story.paragraphs)
    direction = ' dir="rtl"' if story.lang == "ar" else ""
    head = (f'<meta charset="utf-8"><title>{_e(story.title)} | {_e(story.site)}</title>'
            f'<meta property="og:site_name" content="{_e(story.site)}">'
            f'<meta property="og:title" content="{_e(story.title)}">')
    if template == "semantic":
        ld = ('<script type="application/ld+json">{"@context":"https://schema.org","@type":"NewsArticle",'
              f'"headline":"{story.title}","datePublished":"{story.published}",'
              f'"author":{{"@type":"Person","name":"{story.author}"}}}}</script>')
        return (f'<!DOCTYPE html><html lang="{story.lang}"{direction}><head>{head}{ld}</head><body>'
                f'<header><nav><ul>{nav_links}</ul></nav></header><main><article>'
                f'<h1>{_e(story.title)}</h1><p class="byline">{_e(story.author)} '
                f'<time datetime="{story.published}">{story.published[:10]}</time></p>\n{body}'
                f'</article></main><footer><ul>{foot_links}</ul></footer></body></html>')
    if template == "divs":
        return (f'<!DOCTYPE html><html lang="{story.lang}"{direction}><head>{head}'
                f'<meta property="article:published_time" content="{story.published}">'
                f'<meta name="author" content="{_e(story.author)}"></head><body>'
                f'<div class="menu"><ul>{nav_links}</ul></div><div class="wrap"><div class="content">'
                f'<h1 class="headline">{_e(story.title)}</h1><div class="article-body">\n{body}</div></div>'
                f'<div class="sidebar"><h3>{_e(story.nav[1])}</h3><ul>{foot_links}</ul></div></div>'
                f'<div class="footer"><ul>{foot_links}</ul></div></body></html>')
    if template == "flat":
        lines = [*story.nav[:2], *story.paragraphs, *story.footer[:2]]
        inner = "".join(f"<p>{_e(x)}</p>\n" for x in lines)
        return (f'<!DOCTYPE html><html lang="{story.lang}"{direction}><head>{head}</head><body>'
                f'<div>\n{inner}</div></body></html>')
    raise ValueError(template)


def truth(story: Story) -> str:
    return "\n\n".join(story.paragraphs)


def pages():
    """``(page id, story, template, html)`` for every story in every template."""
    for story in STORIES:
        for template in TEMPLATES:
            yield f"{story.lang}-{template}", story, template, page(story, template)

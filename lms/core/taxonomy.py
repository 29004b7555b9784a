"""Stages 学段 and subjects 学科: stored as codes, shown translated, parsed from Chinese names."""

from flask_babel import lazy_gettext as _l

STAGES = {
    "preschool": _l("Preschool"),
    "primary": _l("Primary"),
    "junior": _l("Junior secondary"),
    "senior": _l("Senior secondary"),
    "vocational": _l("Vocational"),
}
STAGE_NAMES_ZH = {"幼儿园": "preschool", "学前": "preschool", "小学": "primary", "初中": "junior",
                  "高中": "senior", "中职": "vocational", "职高": "vocational"}  # fmt: skip

SUBJECTS = {
    "chinese": _l("Chinese"),
    "math": _l("Mathematics"),
    "english": _l("English"),
    "physics": _l("Physics"),
    "chemistry": _l("Chemistry"),
    "biology": _l("Biology"),
    "history": _l("History"),
    "geography": _l("Geography"),
    "politics": _l("Morality and law"),
    "science": _l("Science"),
    "it": _l("Information technology"),
    "music": _l("Music"),
    "art": _l("Art"),
    "pe": _l("Physical education"),
    "psychology": _l("Mental health"),
    "preschool_ed": _l("Preschool education"),
    "general": _l("General"),
}
# Names seen in roster files; several spellings map to one code.
SUBJECT_NAMES_ZH = {
    "语文": "chinese", "数学": "math", "英语": "english", "外语": "english", "物理": "physics",
    "化学": "chemistry", "生物": "biology", "历史": "history", "地理": "geography",
    "道德与法治": "politics", "思想品德": "politics", "思想政治": "politics", "政治": "politics",
    "科学": "science", "信息技术": "it", "信息科技": "it", "音乐": "music", "美术": "art",
    "体育": "pe", "体育与健康": "pe", "心理健康": "psychology", "学前教育": "preschool_ed",
    "综合": "general", "综合实践": "general",
}  # fmt: skip
SUBJECT_ZH = {code: name for name, code in reversed(list(SUBJECT_NAMES_ZH.items()))}

GENDERS = {"M": _l("Male"), "F": _l("Female")}
GENDER_NAMES_ZH = {"男": "M", "女": "F"}
GENDER_ZH = {"M": "男", "F": "女"}


def subject_label(code: str | None) -> str:
    return str(SUBJECTS.get(code, code or ""))


def stage_label(code: str | None) -> str:
    return str(STAGES.get(code, code or ""))


def fit_score(stage_col, subject_col, stage: str | None, subject: str | None):
    """How well an item's 学段/学科 columns fit a teacher's, as a SQL expression for ranking: a match
    counts for it, a known mismatch against it (a primary-school teacher has little use for a
    senior-high item, however popular with colleagues), unknown neither; a "general" item suits
    every subject a little."""
    from sqlalchemy import case, literal

    score = literal(0)
    if stage:
        score = score + case((stage_col == stage, 6), (stage_col.is_not(None), -6), else_=0)
    if subject:
        score = score + case((subject_col == subject, 4), (subject_col == "general", 1),
                             (subject_col.is_not(None), -4), else_=0)  # fmt: skip
    return score

"""Workshop activities: lifecycle and windows, discussion posts, effective-post counting, shared
resources, offline practice marking, questionnaires. All rules, commits and signals live here.

Permission checks go through lms.access with these capabilities (lms/access/roles.py):
`community.view` (read), `activity.participate` (post, reply, like, upload, answer),
`activity.manage` (create/edit activities, mark offline forms, see questionnaire texts),
`post.moderate` (pin, hide, feature, delete others' posts).
"""

import re
import unicodedata
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, selectinload

from lms import access
from lms.activities.kinds import ActivityKind, get_kind
from lms.activities.models import (
    Activity,
    ActivityMemberStat,
    Answer,
    OfflineRecord,
    Post,
    PostAttachment,
    PostLike,
    Question,
    QuestionnaireResponse,
    SharedResource,
)
from lms.core.db import utcnow
from lms.core.i18n import site_gettext
from lms.core.pagination import Page, paginate
from lms.core.text import html_to_text, plain, rich_text
from lms.extensions import db
from lms.signals import activity_resource_shared, content_changed, content_deleted

SENDER = "activities"
TITLE_MAX = 200
BODY_MAX = 20000
MAX_ATTACHMENTS = 5
MAX_QUESTIONS = 50
MAX_OPTIONS = 20

#: The effective-post rule 有效帖 (shown to users by effective_rule_text in the views).
EFFECTIVE_MIN_CHARS = 20
#: Two posts of one author count once when at least this share of their two-character sequences
#: is the same (Dice coefficient of the sets: 2·|A∩B| / (|A|+|B|)). 0.8 on sequences catches about
#: what 0.9 on characters did: a single changed character changes two sequences.
EFFECTIVE_SIMILARITY = 0.8
#: Only this many leading letters/digits of a post are compared, so one comparison costs at most
#: ~COMPARE_CHARS set operations however long the posts are (BODY_MAX allows 20,000).
COMPARE_CHARS = 2000


class ActivityError(ValueError):
    """A rule refused the action; str(error) is a code the views turn into a sentence. `questions`:
    for "answer_required", the numbers (1-based) of the questionnaire's unanswered questions."""

    def __init__(self, code: str, questions: list[int] | None = None):
        super().__init__(code)
        self.questions = questions or []


# --- text ------------------------------------------------------------------------------------


# A str pattern's \w is exactly Unicode categories L* and N* plus "_" (checked over all code points).
_NOT_LETTER_OR_DIGIT = re.compile(r"[\W_]+")


def normalized_for_comparison(text: str) -> str:
    """Letters, digits and CJK characters only (NFKC, lower case): what the effective rule counts."""
    return _NOT_LETTER_OR_DIGIT.sub("", unicodedata.normalize("NFKC", text or "").lower())


def comparison_head(text: str) -> str:
    """The first COMPARE_CHARS characters of normalized_for_comparison(text), normalizing only as
    much of the text as that takes (a few chunks, not all 20,000 characters)."""
    head, start, step = "", 0, 2 * COMPARE_CHARS
    text = text or ""
    while len(head) < COMPARE_CHARS and start < len(text):
        head += normalized_for_comparison(text[start : start + step])
        start += step
    return head[:COMPARE_CHARS]


def fingerprint(head: str) -> frozenset[str]:
    """The set of two-character sequences of a comparison head."""
    return frozenset(head[i : i + 2] for i in range(len(head) - 1)) or frozenset([head])


def similar(a: frozenset, b: frozenset) -> bool:
    """Whether two fingerprints are near-copies (Dice ≥ EFFECTIVE_SIMILARITY)."""
    if a == b:
        return True
    small, large = sorted((len(a), len(b)))
    # 2·|A∩B| ≤ 2·small, so unequal sizes alone can rule a pair out without intersecting.
    if 2 * small < EFFECTIVE_SIMILARITY * (small + large):
        return False
    return 2 * len(a & b) >= EFFECTIVE_SIMILARITY * (small + large)


def effective_flags(posts: list) -> dict[int, bool]:
    """Which of one author's posts in one activity are effective.

    A post is effective when it is not hidden, has at least EFFECTIVE_MIN_CHARS letters, digits or
    Chinese characters (spaces, punctuation, symbols and formatting do not count) and is not a copy
    or near-copy of an earlier visible post of the same author in that activity: see `similar`.
    Cost: one pass over each text, then at most n·(n-1)/2 comparisons of sets of < COMPARE_CHARS.
    """
    seen: list[frozenset] = []
    flags = {}
    for p in sorted(posts, key=lambda p: (p.created_at, p.id)):
        if p.hidden or getattr(p, "deleted_at", None) is not None:
            flags[p.id] = False
            continue
        head = comparison_head(p.body_text)
        if len(head) < EFFECTIVE_MIN_CHARS:  # the head holds min(all, COMPARE_CHARS) characters
            flags[p.id] = False
            continue
        fp = fingerprint(head)
        flags[p.id] = not any(similar(fp, s) for s in seen)
        seen.append(fp)
    return flags


# --- permissions -------------------------------------------------------------------------------


def may_view(user, activity: Activity) -> bool:
    return access.can(user, "community.view", activity)


def may_manage(user, activity_or_workshop) -> bool:
    return access.can(user, "activity.manage", activity_or_workshop)


def may_participate(user, activity: Activity) -> bool:
    return access.can(user, "activity.participate", activity)


def may_moderate(user, activity: Activity) -> bool:
    return access.can(user, "post.moderate", activity)


def _require(ok: bool, capability: str) -> None:
    if not ok:
        raise PermissionError(capability)


def kind_of(activity: Activity) -> ActivityKind:
    kind = get_kind(activity.kind)
    if kind is None:
        # A plugin that added it was removed: show it as a plain discussion, read-only.
        from lms.activities.kinds import ActivityKind as K

        return K(activity.kind, activity.kind, "activities/kinds/discussion.html", posts=True)
    return kind


def check_open(activity: Activity, now: datetime | None = None) -> None:
    phase = activity.phase(now or utcnow())
    if phase == "upcoming":
        raise ActivityError("not_open_yet")
    if phase == "closed":
        raise ActivityError("closed")


# --- activities --------------------------------------------------------------------------------


def parse_questions(text: str) -> list[dict]:
    """The questionnaire editor's text: blocks separated by a blank line; the first line is the
    question, prefixed "单选:"/"single:", "多选:"/"multiple:" or "问答:"/"text:" (default single);
    further lines are the options (a leading "-", "*" or "1." is dropped)."""
    prefixes = {
        "单选": "single", "single": "single", "多选": "multiple", "multiple": "multiple",
        "问答": "text", "填空": "text", "text": "text",
    }  # fmt: skip
    out = []
    blocks = re.split(r"\n\s*\n", (text or "").replace("\r\n", "\n").strip())
    for block in blocks:
        lines = [plain(line) for line in block.split("\n") if plain(line)]
        if not lines:
            continue
        head, kind = lines[0], "single"
        m = re.match(r"^\s*[\[【]?([^\]】:：]{1,8})[\]】]?\s*[:：]?\s*(.*)$", head)
        if m and m.group(1).strip().lower() in prefixes:
            kind, head = prefixes[m.group(1).strip().lower()], m.group(2).strip()
        options = [re.sub(r"^([-*•·]|\d+[.、)）]|[A-Za-z][.、)）])\s*", "", line).strip() for line in lines[1:]]
        options = [o[:200] for o in options if o]
        if not head:
            raise ActivityError("question_empty")
        if kind != "text" and len(options) < 2:
            raise ActivityError("question_options")
        if len(options) > MAX_OPTIONS:
            raise ActivityError("question_too_many_options")
        out.append({"kind": kind, "text": head[:500], "options": options if kind != "text" else []})
    if len(out) > MAX_QUESTIONS:
        raise ActivityError("too_many_questions")
    return out


def questions_as_text(activity: Activity) -> str:
    label = {"single": "单选", "multiple": "多选", "text": "问答"}
    blocks = []
    for q in questions_of(activity):
        blocks.append("\n".join([f"{label[q.kind]}: {q.text}", *(f"- {o}" for o in q.options)]))
    return "\n\n".join(blocks)


def _validate(kind_name, title, description, opens_at, closes_at):
    kind = get_kind(kind_name)
    if kind is None:
        raise ActivityError("bad_kind")
    title = plain(title)
    if not title:
        raise ActivityError("title_required")
    if len(title) > TITLE_MAX:
        raise ActivityError("title_too_long")
    if len(description or "") > BODY_MAX:
        raise ActivityError("body_too_long")
    if opens_at is None:
        raise ActivityError("opens_required")
    if closes_at is not None and closes_at <= opens_at:
        raise ActivityError("window_order")
    return kind, title


def create_activity(user, workshop, *, kind: str, title: str, description: str = "", opens_at: datetime,
                    closes_at: datetime | None = None, questions: str = "") -> Activity:  # fmt: skip
    _require(may_manage(user, workshop), "activity.manage")
    kind_obj, title = _validate(kind, title, description, opens_at, closes_at)
    parsed = parse_questions(questions) if kind_obj.questionnaire else []
    if kind_obj.questionnaire and not parsed:
        raise ActivityError("questions_required")
    activity = Activity(workshop_id=workshop.id, author_id=user.id, kind=kind, title=title,
                        description_html=rich_text(description), opens_at=opens_at, closes_at=closes_at,
                        settings={})  # fmt: skip
    db.session.add(activity)
    db.session.flush()
    _save_questions(activity, parsed)
    db.session.commit()
    content_changed.send(SENDER, kind="activity", ids=[activity.id])
    kind_obj.hook("on_created", activity)
    announce_opened([activity])
    return activity


def update_activity(user, activity: Activity, *, title: str, description: str = "", opens_at: datetime,
                    closes_at: datetime | None = None, questions: str | None = None) -> Activity:  # fmt: skip
    _require(may_manage(user, activity), "activity.manage")
    kind_obj, title = _validate(activity.kind, title, description, opens_at, closes_at)
    if kind_obj.questionnaire and questions is not None:
        parsed = parse_questions(questions)
        if not parsed:
            raise ActivityError("questions_required")
        if [(q["kind"], q["text"], q["options"]) for q in parsed] != [
            (q.kind, q.text, list(q.options)) for q in questions_of(activity)
        ]:
            if activity.response_count:
                raise ActivityError("questions_locked")
            for q in questions_of(activity):
                db.session.delete(q)
            db.session.flush()
            _save_questions(activity, parsed)
    reopened = activity.notified_at is not None and opens_at > utcnow()
    activity.title, activity.description_html = title, rich_text(description)
    activity.opens_at, activity.closes_at = opens_at, closes_at
    if reopened:
        activity.notified_at = None  # moved into the future: tell members again when it opens
    db.session.commit()
    content_changed.send(SENDER, kind="activity", ids=[activity.id])
    announce_opened([activity])
    return activity


def delete_activity(user, activity: Activity) -> None:
    _require(may_manage(user, activity), "activity.manage")
    post_ids = list(db.session.scalars(select(Post.id).where(Post.activity_id == activity.id)))
    files = _files_of_activity(activity.id)
    aid = activity.id
    # Explicit deletes, child tables first: SQLite does not enforce ON DELETE CASCADE by default.
    response_ids = select(QuestionnaireResponse.id).where(QuestionnaireResponse.activity_id == aid)
    for stmt in (
        Answer.__table__.delete().where(Answer.response_id.in_(response_ids)),
        QuestionnaireResponse.__table__.delete().where(QuestionnaireResponse.activity_id == aid),
        Question.__table__.delete().where(Question.activity_id == aid),
        PostLike.__table__.delete().where(PostLike.post_id.in_(select(Post.id).where(Post.activity_id == aid))),
        PostAttachment.__table__.delete().where(
            PostAttachment.post_id.in_(select(Post.id).where(Post.activity_id == aid))
        ),
        Post.__table__.update().where(Post.activity_id == aid).values(quote_id=None),
        Post.__table__.delete().where(Post.activity_id == aid, Post.parent_id.is_not(None)),
        Post.__table__.delete().where(Post.activity_id == aid),
        SharedResource.__table__.delete().where(SharedResource.activity_id == aid),
        OfflineRecord.__table__.delete().where(OfflineRecord.activity_id == aid),
        ActivityMemberStat.__table__.delete().where(ActivityMemberStat.activity_id == aid),
    ):
        db.session.execute(stmt)
    db.session.delete(activity)
    _delete_files(files)
    db.session.commit()
    content_deleted.send(SENDER, kind="activity", ids=[aid])
    if post_ids:
        content_deleted.send(SENDER, kind="post", ids=post_ids)


def _files_of_activity(activity_id: int) -> list[int]:
    ids = set(
        db.session.scalars(select(PostAttachment.stored_file_id).join(Post).where(Post.activity_id == activity_id))
    )
    ids |= set(
        db.session.scalars(select(SharedResource.stored_file_id).where(SharedResource.activity_id == activity_id))
    )
    ids |= set(db.session.scalars(select(OfflineRecord.form_file_id).where(OfflineRecord.activity_id == activity_id)))
    return sorted(ids)


def _delete_files(file_ids) -> None:
    from lms.media.models import StoredFile
    from lms.media.services import delete_file

    for fid in file_ids:
        stored = db.session.get(StoredFile, fid)
        if stored is not None:
            delete_file(stored)


def activities_of(workshop, limit: int | None = None) -> list[Activity]:
    """Open ones first (closing soonest), then upcoming, then closed (newest first)."""
    now = utcnow()
    items = list(
        db.session.scalars(
            select(Activity)
            .where(Activity.workshop_id == workshop.id)
            .order_by(Activity.opens_at.desc(), Activity.id.desc())
        )
    )
    order = {"open": 0, "upcoming": 1, "closed": 2}
    items.sort(key=lambda a: order[a.phase(now)])
    return items[:limit] if limit else items


def announce_opened(activities: list[Activity] | None = None) -> int:
    """Tell a workshop's members that an activity opened, once. Called after create/update, when
    pages list activities, and by `flask lms activities-open` (cron)."""
    from lms.notifications.services import members_under, notify

    now = utcnow()
    if activities is None:
        activities = list(
            db.session.scalars(select(Activity).where(Activity.notified_at.is_(None), Activity.opens_at <= now))
        )
    done = 0
    for activity in activities:
        if activity.notified_at is not None or activity.opens_at > now:
            continue
        if activity.closes_at is not None and activity.closes_at <= now:
            activity.notified_at = now
            db.session.commit()
            continue
        # Claim it first, so two processes never both send.
        claimed = db.session.execute(
            update(Activity).where(Activity.id == activity.id, Activity.notified_at.is_(None)).values(notified_at=now)
        ).rowcount
        db.session.commit()
        if not claimed:
            continue
        recipients = members_under(activity.workshop.context, exclude=activity.author_id)
        # Stored once for every member: in the site's language, not in that of whoever triggered it
        # (a host with an English UI, a page view); site_gettext also works outside requests (cron).
        text = site_gettext("New activity in %(workshop)s: %(title)s", workshop=activity.workshop.name,
                            title=activity.title)  # fmt: skip
        notify(recipients, "activity", text, url=f"/activities/{activity.id}", actor=activity.author_id)
        done += 1
    return done


# --- posts -------------------------------------------------------------------------------------


def _save_attachments(user, post: Post, files) -> None:
    from lms.media.services import DOCUMENTS, save_upload

    files = [f for f in files or [] if f is not None and getattr(f, "filename", "")]
    if len(files) > MAX_ATTACHMENTS:
        raise ActivityError("too_many_files")
    for f in files:
        stored = save_upload(f, owner=user, allowed=DOCUMENTS, purpose="post")
        post.attachments.append(PostAttachment(stored_file_id=stored.id))


def _stored_paths_of_pending() -> list[str]:
    from lms.media.models import StoredFile

    return [obj.path for obj in db.session.new if isinstance(obj, StoredFile)]


def _rollback_with_files() -> None:
    """Roll back, removing files save_upload already placed on disk for this transaction."""
    from flask import current_app

    from lms.media import storage

    paths = _stored_paths_of_pending()
    db.session.rollback()
    for path in paths:
        storage.remove(current_app.config, path)


def draft_html(body: str | None) -> str:
    """What a refused post or reply said, sanitized like a stored post, to put back in its editor."""
    return rich_text(body)


def create_post(user, activity: Activity, body: str, files=(), parent: Post | None = None,
                quote: Post | None = None) -> Post:  # fmt: skip
    """A post, or a reply to `parent`; replying to a reply files it under the thread and quotes it."""
    _require(may_participate(user, activity), "activity.participate")
    if not kind_of(activity).posts:
        raise ActivityError("no_posts")
    check_open(activity)
    if parent is not None:
        if parent.activity_id != activity.id:
            raise ActivityError("bad_parent")
        if parent.hidden and not may_moderate(user, activity):
            raise ActivityError("bad_parent")
        if parent.parent_id is not None:  # a reply to a reply: same thread, quoting it
            quote, parent = parent, db.session.get(Post, parent.parent_id)
    if quote is not None and (parent is None or quote.parent_id != parent.id):
        quote = None
    if len(body or "") > BODY_MAX:
        raise ActivityError("body_too_long")
    html = rich_text(body)
    text = html_to_text(html, collapse=True)
    if not text and "<img" not in html and not any(getattr(f, "filename", "") for f in files or []):
        raise ActivityError("body_required")
    post = Post(activity_id=activity.id, author_id=user.id, parent_id=parent.id if parent else None,
                quote_id=quote.id if quote else None, body_html=html, body_text=text)  # fmt: skip
    db.session.add(post)
    try:
        _save_attachments(user, post, files)
    except BaseException:
        _rollback_with_files()
        raise
    db.session.execute(update(Activity).where(Activity.id == activity.id).values(post_count=Activity.post_count + 1))
    if parent is not None:
        db.session.execute(update(Post).where(Post.id == parent.id).values(reply_count=Post.reply_count + 1))
    db.session.flush()
    recount_member(activity, user.id)
    db.session.commit()
    content_changed.send(SENDER, kind="post", ids=[post.id])
    if parent is not None:
        _notify_reply(user, activity, post, parent, quote)
    return post


# --- notices to a post's author (stored in the site's language: many readers, any requester) ------

#: Likes are coalesced: at most one "liked your post" notice per post in this window.
LIKE_NOTICE_WINDOW = timedelta(hours=1)


def post_url(post: Post) -> str:
    return f"/activities/{post.activity_id}#post-{post.id}"


def _notify_reply(user, activity: Activity, post: Post, parent: Post, quote: Post | None) -> None:
    """The author of the post replied to (the quoted reply, or the thread) and the thread's author;
    never the replier (notify drops the actor), nor a deleted or hidden post's author."""
    from lms.notifications.services import notify

    targets = [p for p in (quote, parent) if p is not None and p.deleted_at is None and not p.hidden]
    recipients = {p.author_id for p in targets if p.author_id is not None}
    if not recipients:
        return
    text = site_gettext("%(name)s replied to your post in “%(title)s”.", name=user.name, title=activity.title)
    notify(recipients, "post_reply", text, url=post_url(post), actor=user)


def _notify_like(user, post: Post) -> None:
    from lms.notifications.services import notify, sent_since

    if post.author_id is None or post.author_id == user.id:
        return
    url = post_url(post)
    if sent_since(post.author_id, "post_liked", url, utcnow() - LIKE_NOTICE_WINDOW):
        return
    text = site_gettext("%(name)s liked your post in “%(title)s”.", name=user.name, title=post.activity.title)
    notify([post.author_id], "post_liked", text, url=url, actor=user)


def _notify_moderated(user, post: Post, action: str) -> None:
    from lms.notifications.services import notify

    if post.author_id is None or post.deleted_at is not None:
        return
    title = post.activity.title
    if action == "hide":
        # Hosts, experts and admins moderate: the notice names the act, not who did it.
        text = site_gettext("Your post in “%(title)s” was hidden: other members no longer see it, and it no "
                            "longer counts as an effective post.", title=title)  # fmt: skip
        url = f"/activities/{post.activity_id}"  # the author cannot open a hidden post's anchor
    elif action == "unhide":
        text = site_gettext("Your post in “%(title)s” is shown again and counts as an effective post again if "
                            "it meets the rule.", title=title)  # fmt: skip
        url = post_url(post)
    elif action == "feature":
        text = site_gettext("Your post in “%(title)s” was featured.", title=title)
        url = post_url(post)
    else:
        return
    notify([post.author_id], f"post_{action}", text, url=url, actor=user)


def may_edit_post(user, post: Post) -> bool:
    return (
        user is not None
        and post.deleted_at is None
        and post.author_id == getattr(user, "id", None)
        and may_participate(user, post.activity)
    )


def edit_post(user, post: Post, body: str) -> Post:
    _require(may_edit_post(user, post), "post.edit")
    check_open(post.activity)
    if len(body or "") > BODY_MAX:
        raise ActivityError("body_too_long")
    html = rich_text(body)
    text = html_to_text(html, collapse=True)
    if not text and "<img" not in html and not post.attachments:
        raise ActivityError("body_required")
    post.body_html, post.body_text, post.updated_at = html, text, utcnow()
    db.session.flush()
    recount_member(post.activity, post.author_id)
    db.session.commit()
    content_changed.send(SENDER, kind="post", ids=[post.id])
    return post


def may_delete_post(user, post: Post) -> bool:
    """Who may delete it at all; a member's own delete also needs the activity open (delete_post)."""
    return may_edit_post(user, post) or may_moderate(user, post.activity)


def others_replied(post: Post) -> bool:
    """Whether anyone but its author replied to a top-level post (hidden replies included)."""
    if post.parent_id is not None:
        return False
    stmt = select(Post.id).where(Post.parent_id == post.id)
    if post.author_id is not None:
        stmt = stmt.where(or_(Post.author_id.is_(None), Post.author_id != post.author_id))
    return db.session.scalar(stmt.limit(1)) is not None


def delete_post(user, post: Post, whole_thread: bool = False) -> str:
    """Delete a post, or a whole thread (the post and its replies); counters and effective posts follow.

    Others' replies are never lost by their thread's author: when others replied, the author's delete
    blanks the post into a placeholder and keeps the thread ("blanked"). Removing a thread with others'
    replies is for moderators, who must ask for it (`whole_thread`). Returns "blanked" or "deleted".
    """
    _require(may_delete_post(user, post), "post.delete")
    if whole_thread:
        _require(may_moderate(user, post.activity), "post.moderate")
    if not may_moderate(user, post.activity):
        check_open(post.activity)  # a closed activity's record stays as it was; moderators may still clean up
    if post.parent_id is None and not whole_thread and others_replied(post):
        if post.author_id != getattr(user, "id", None) or post.deleted_at is not None:
            raise ActivityError("thread_has_replies")
        _blank_post(post)
        return "blanked"
    activity = post.activity
    thread = [post]
    if post.parent_id is None:
        thread += list(db.session.scalars(select(Post).where(Post.parent_id == post.id)))
    ids = [p.id for p in thread]
    counted = sum(1 for p in thread if p.deleted_at is None)  # a placeholder was already uncounted
    authors = {p.author_id for p in thread if p.author_id is not None}
    files = list(db.session.scalars(select(PostAttachment.stored_file_id).where(PostAttachment.post_id.in_(ids))))
    if post.parent_id is not None:
        db.session.execute(update(Post).where(Post.id == post.parent_id).values(reply_count=Post.reply_count - 1))
    db.session.execute(
        update(Activity).where(Activity.id == activity.id).values(post_count=Activity.post_count - counted)
    )
    db.session.execute(PostLike.__table__.delete().where(PostLike.post_id.in_(ids)))
    db.session.execute(update(Post).where(Post.quote_id.in_(ids)).values(quote_id=None))
    for p in reversed(thread):
        db.session.delete(p)
    _delete_files(files)
    db.session.flush()
    for uid in authors:
        recount_member(activity, uid)
    db.session.commit()
    content_deleted.send(SENDER, kind="post", ids=ids)
    return "deleted"


def _blank_post(post: Post) -> None:
    """The author's own content goes (text, files, likes, featured mark); the post stays as the head
    of its thread, shown as deleted by its author, and no longer counts as a post or effective post."""
    activity = post.activity
    files = [a.stored_file_id for a in post.attachments]
    post.attachments.clear()
    db.session.execute(PostLike.__table__.delete().where(PostLike.post_id == post.id))
    post.body_html, post.body_text, post.like_count, post.featured = "", "", 0, False
    post.deleted_at = utcnow()
    db.session.execute(update(Activity).where(Activity.id == activity.id).values(post_count=Activity.post_count - 1))
    db.session.flush()
    _delete_files(files)
    recount_member(activity, post.author_id)
    db.session.commit()
    content_deleted.send(SENDER, kind="post", ids=[post.id])


MODERATION = {
    "pin": ("pinned", True), "unpin": ("pinned", False),
    "hide": ("hidden", True), "unhide": ("hidden", False),
    "feature": ("featured", True), "unfeature": ("featured", False),
}  # fmt: skip


def moderate(user, post: Post, action: str) -> Post:
    _require(may_moderate(user, post.activity), "post.moderate")
    if action not in MODERATION:
        raise ActivityError("bad_action")
    attr, value = MODERATION[action]
    if attr == "pinned" and post.parent_id is not None:
        raise ActivityError("pin_reply")
    changed = getattr(post, attr) != value
    setattr(post, attr, value)
    db.session.flush()
    if attr == "hidden":
        recount_member(post.activity, post.author_id)
    db.session.commit()
    if attr == "hidden":
        (content_deleted if value else content_changed).send(SENDER, kind="post", ids=[post.id])
    if changed:  # a second click on a stale page tells the author nothing new
        _notify_moderated(user, post, action)
    return post


def like(user, post: Post) -> int:
    """Like once per user; the counter is maintained. Returns the new count."""
    _require(may_participate(user, post.activity), "activity.participate")
    if (post.hidden and not may_moderate(user, post.activity)) or post.deleted_at is not None:
        raise ActivityError("bad_parent")
    exists = db.session.get(PostLike, (post.id, user.id))
    if exists is None:
        try:
            db.session.add(PostLike(post_id=post.id, user_id=user.id))
            db.session.flush()
            db.session.execute(update(Post).where(Post.id == post.id).values(like_count=Post.like_count + 1))
            db.session.commit()
        except IntegrityError:  # a double click raced us: already liked
            db.session.rollback()
        else:
            _notify_like(user, post)
    db.session.refresh(post)
    return post.like_count


def unlike(user, post: Post) -> int:
    _require(may_participate(user, post.activity), "activity.participate")
    deleted = db.session.execute(
        PostLike.__table__.delete().where(PostLike.post_id == post.id, PostLike.user_id == user.id)
    ).rowcount
    if deleted:
        db.session.execute(update(Post).where(Post.id == post.id).values(like_count=Post.like_count - deleted))
    db.session.commit()
    db.session.refresh(post)
    return post.like_count


def liked_ids(user, post_ids) -> set[int]:
    if not post_ids or not getattr(user, "is_authenticated", False):
        return set()
    return set(
        db.session.scalars(select(PostLike.post_id).where(PostLike.user_id == user.id, PostLike.post_id.in_(post_ids)))
    )


def thread_page(activity: Activity, user, page: int = 1, per_page: int = 20, featured: bool = False) -> dict:
    """Top-level posts (pinned first, newest first) with their replies; hidden ones for moderators only."""
    moderator = may_moderate(user, activity)
    stmt = select(Post).where(Post.activity_id == activity.id, Post.parent_id.is_(None))
    if not moderator:
        stmt = stmt.where(Post.hidden.is_(False))
    if featured:
        stmt = stmt.where(Post.featured.is_(True))
    stmt = stmt.options(selectinload(Post.author), selectinload(Post.attachments).selectinload(PostAttachment.file))
    result: Page = paginate(stmt.order_by(Post.pinned.desc(), Post.created_at.desc(), Post.id.desc()), page, per_page)
    roots = [p.id for p in result.items]
    replies: dict[int, list[Post]] = {pid: [] for pid in roots}
    if roots:
        rstmt = select(Post).where(Post.parent_id.in_(roots))
        if not moderator:
            rstmt = rstmt.where(Post.hidden.is_(False))
        rstmt = rstmt.options(
            selectinload(Post.author),
            selectinload(Post.attachments).selectinload(PostAttachment.file),
            selectinload(Post.quote).selectinload(Post.author),
        )
        for r in db.session.scalars(rstmt.order_by(Post.created_at, Post.id)):
            replies[r.parent_id].append(r)
    all_ids = roots + [r.id for rs in replies.values() for r in rs]
    return {"page": result, "replies": replies, "liked": liked_ids(user, all_ids), "moderator": moderator,
            "others_replied": _others_replied(roots)}  # fmt: skip


def _others_replied(root_ids: list[int]) -> set[int]:
    """The top-level posts among root_ids that someone other than their author replied to."""
    if not root_ids:
        return set()
    reply = aliased(Post)
    stmt = (
        select(Post.id)
        .join(reply, reply.parent_id == Post.id)
        .where(Post.id.in_(root_ids),
               or_(Post.author_id.is_(None), reply.author_id.is_(None), reply.author_id != Post.author_id))
        .distinct()
    )  # fmt: skip
    return set(db.session.scalars(stmt))


# --- effective posts and per-member figures --------------------------------------------------------


def _stat(activity: Activity, user_id: int) -> ActivityMemberStat:
    row = db.session.get(ActivityMemberStat, (activity.id, user_id))
    if row is None:
        row = ActivityMemberStat(activity_id=activity.id, user_id=user_id, workshop_id=activity.workshop_id,
                                 post_count=0, effective_count=0, resource_count=0)  # fmt: skip
        db.session.add(row)
    return row


def recount_member(activity: Activity, user_id: int | None) -> ActivityMemberStat | None:
    """Recompute one member's posts, effective posts and resources in one activity (the caller commits)."""
    if user_id is None:
        return None
    posts = list(db.session.scalars(select(Post).where(Post.activity_id == activity.id, Post.author_id == user_id)))
    flags = effective_flags(posts)
    for p in posts:
        if p.effective != flags[p.id]:
            p.effective = flags[p.id]
    row = _stat(activity, user_id)
    row.post_count = sum(1 for p in posts if not p.hidden and p.deleted_at is None)
    row.effective_count = sum(1 for v in flags.values() if v)
    row.resource_count = db.session.scalar(
        select(func.count(SharedResource.id)).where(
            SharedResource.activity_id == activity.id, SharedResource.user_id == user_id
        )
    )
    return row


def _workshop_id(workshop) -> int:
    return workshop if isinstance(workshop, int) else workshop.id


def member_post_counts(workshop, user_ids) -> dict[int, tuple[int, int]]:
    """(posts, effective posts) per member over every activity of the workshop; 0s for the silent."""
    ids = list({int(u) for u in user_ids})
    out = {uid: (0, 0) for uid in ids}
    if not ids:
        return out
    for i in range(0, len(ids), 1000):
        rows = db.session.execute(
            select(
                ActivityMemberStat.user_id,
                func.sum(ActivityMemberStat.post_count),
                func.sum(ActivityMemberStat.effective_count),
            )
            .where(ActivityMemberStat.workshop_id == _workshop_id(workshop),
                   ActivityMemberStat.user_id.in_(ids[i : i + 1000]))
            .group_by(ActivityMemberStat.user_id)
        )  # fmt: skip
        for uid, posts, effective in rows:
            out[uid] = (int(posts or 0), int(effective or 0))
    return out


def member_resource_counts(workshop, user_ids) -> dict[int, int]:
    """Resources shared (sharing activities and offline products) per member in the workshop."""
    ids = list({int(u) for u in user_ids})
    out = dict.fromkeys(ids, 0)
    if not ids:
        return out
    for i in range(0, len(ids), 1000):
        rows = db.session.execute(
            select(ActivityMemberStat.user_id, func.sum(ActivityMemberStat.resource_count))
            .where(ActivityMemberStat.workshop_id == _workshop_id(workshop),
                   ActivityMemberStat.user_id.in_(ids[i : i + 1000]))
            .group_by(ActivityMemberStat.user_id)
        )  # fmt: skip
        for uid, n in rows:
            out[uid] = int(n or 0)
    return out


def my_stat(activity: Activity, user) -> ActivityMemberStat | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return db.session.get(ActivityMemberStat, (activity.id, user.id))


def activity_stats(activity: Activity) -> list[ActivityMemberStat]:
    return list(
        db.session.scalars(
            select(ActivityMemberStat)
            .where(ActivityMemberStat.activity_id == activity.id)
            .options(selectinload(ActivityMemberStat.user))
            .order_by(ActivityMemberStat.effective_count.desc(), ActivityMemberStat.post_count.desc())
        )
    )


# --- resource sharing and offline practice ------------------------------------------------------


def _signal_resource(activity: Activity, user, res: SharedResource) -> None:
    activity_resource_shared.send(activity, user=user, title=res.title, description=res.description,
                                  file_id=res.stored_file_id, context=activity.workshop.context)  # fmt: skip


def share_resource(user, activity: Activity, file, title: str = "", description: str = "") -> SharedResource:
    from lms.media.services import ANY_SAFE, save_upload

    _require(may_participate(user, activity), "activity.participate")
    if not kind_of(activity).resources:
        raise ActivityError("no_resources")
    check_open(activity)
    title, description = plain(title), plain(description, multiline=True)
    if len(title) > TITLE_MAX or len(description) > 2000:
        raise ActivityError("title_too_long")
    try:
        stored = save_upload(file, owner=user, allowed=ANY_SAFE, purpose="resource")
    except BaseException:
        _rollback_with_files()
        raise
    res = SharedResource(activity_id=activity.id, user_id=user.id, title=title or stored.filename,
                         description=description, stored_file_id=stored.id)  # fmt: skip
    db.session.add(res)
    db.session.execute(
        update(Activity).where(Activity.id == activity.id).values(resource_count=Activity.resource_count + 1)
    )
    db.session.flush()
    recount_member(activity, user.id)
    db.session.commit()
    _signal_resource(activity, user, res)
    return res


def resources_of(activity: Activity, user_id: int | None = None) -> list[SharedResource]:
    stmt = select(SharedResource).where(SharedResource.activity_id == activity.id)
    if user_id is not None:
        stmt = stmt.where(SharedResource.user_id == user_id)
    stmt = stmt.options(selectinload(SharedResource.user), selectinload(SharedResource.file))
    return list(db.session.scalars(stmt.order_by(SharedResource.created_at.desc(), SharedResource.id.desc())))


def may_delete_resource(user, res: SharedResource) -> bool:
    """Who may delete it at all; a member's own delete has conditions too (check_member_may_delete)."""
    return (res.user_id == getattr(user, "id", None) and may_participate(user, res.activity)) or may_manage(
        user, res.activity
    )


def check_member_may_delete(user, res: SharedResource) -> None:
    """A member deletes their resource only while the activity is open and, in offline practice,
    until the host marked their result form (the mark judged these resources). Managers always may."""
    if may_manage(user, res.activity):
        return
    check_open(res.activity)
    if kind_of(res.activity).offline and res.user_id is not None:
        record = db.session.scalar(
            select(OfflineRecord).where(OfflineRecord.activity_id == res.activity_id,
                                        OfflineRecord.user_id == res.user_id)
        )  # fmt: skip
        if record is not None and record.marked_at is not None:
            raise ActivityError("marked_resources")


def delete_resource(user, res: SharedResource) -> None:
    _require(may_delete_resource(user, res), "resource.delete")
    check_member_may_delete(user, res)
    activity, uid, fid = res.activity, res.user_id, res.stored_file_id
    db.session.delete(res)
    db.session.execute(
        update(Activity).where(Activity.id == activity.id).values(resource_count=Activity.resource_count - 1)
    )
    _delete_files([fid])
    db.session.flush()
    recount_member(activity, uid)
    db.session.commit()


def submit_offline(user, activity: Activity, form_file, resource_files=(), note: str = "") -> OfflineRecord:
    """Upload (or replace, until marked) the stamped result form, plus the resources produced."""
    from lms.media.services import ANY_SAFE, IMAGES, PDF, save_upload

    _require(may_participate(user, activity), "activity.participate")
    if not kind_of(activity).offline:
        raise ActivityError("no_offline")
    check_open(activity)
    record = db.session.scalar(
        select(OfflineRecord).where(OfflineRecord.activity_id == activity.id, OfflineRecord.user_id == user.id)
    )
    if record is not None and record.marked_at is not None:
        raise ActivityError("already_marked")
    resource_files = [f for f in resource_files or [] if f is not None and getattr(f, "filename", "")]
    if len(resource_files) > MAX_ATTACHMENTS:
        raise ActivityError("too_many_files")
    has_form = form_file is not None and getattr(form_file, "filename", "")
    if record is None and not has_form:
        raise ActivityError("form_required")
    old_form = None
    shared = []
    try:
        if has_form:
            stored = save_upload(form_file, owner=user, allowed=IMAGES | PDF, purpose="result_form")
            if record is None:
                record = OfflineRecord(activity_id=activity.id, user_id=user.id, form_file_id=stored.id)
                db.session.add(record)
            else:
                old_form, record.form_file_id = record.form_file_id, stored.id
        record.note = plain(note, 2000, multiline=True)
        for f in resource_files:
            stored = save_upload(f, owner=user, allowed=ANY_SAFE, purpose="resource")
            res = SharedResource(activity_id=activity.id, user_id=user.id, title=stored.filename,
                                 description="", stored_file_id=stored.id)  # fmt: skip
            db.session.add(res)
            shared.append(res)
    except BaseException:
        _rollback_with_files()
        raise
    if shared:
        db.session.execute(
            update(Activity)
            .where(Activity.id == activity.id)
            .values(resource_count=Activity.resource_count + len(shared))
        )
    if old_form:
        _delete_files([old_form])
    db.session.flush()
    recount_member(activity, user.id)
    db.session.commit()
    for res in shared:
        _signal_resource(activity, user, res)
    return record


def offline_records(activity: Activity) -> list[OfflineRecord]:
    return list(
        db.session.scalars(
            select(OfflineRecord)
            .where(OfflineRecord.activity_id == activity.id)
            .options(selectinload(OfflineRecord.user), selectinload(OfflineRecord.form_file))
            .order_by(OfflineRecord.created_at)
        )
    )


def my_offline_record(activity: Activity, user) -> OfflineRecord | None:
    return db.session.scalar(
        select(OfflineRecord).where(OfflineRecord.activity_id == activity.id, OfflineRecord.user_id == user.id)
    )


COMMENT_MAX = 2000


def mark_offline(user, record: OfflineRecord, *, score: int | None, passed: bool,
                 comment: str | None = None) -> OfflineRecord:  # fmt: skip
    """Mark a result form; `comment` (plain text, shown to the member) is kept as it was when None."""
    from lms.notifications.services import notify

    _require(may_manage(user, record.activity), "activity.manage")
    if score is not None and not 0 <= score <= 100:
        raise ActivityError("bad_score")
    if comment is not None and len(comment) > COMMENT_MAX:
        raise ActivityError("comment_too_long")
    record.score, record.passed = score, bool(passed)
    if comment is not None:
        record.comment = plain(comment, COMMENT_MAX, multiline=True)
    record.marked_by_id, record.marked_at = user.id, utcnow()
    db.session.commit()
    text = site_gettext("Your result form in “%(title)s” has been marked.", title=record.activity.title)
    notify([record.user_id], "activity_marked", text, url=f"/activities/{record.activity_id}", actor=user)
    return record


# --- questionnaires ---------------------------------------------------------------------------


def _save_questions(activity: Activity, parsed: list[dict]) -> None:
    for i, q in enumerate(parsed):
        db.session.add(Question(activity_id=activity.id, position=i, kind=q["kind"], text=q["text"],
                                options=q["options"]))  # fmt: skip


def questions_of(activity: Activity) -> list[Question]:
    return list(
        db.session.scalars(select(Question).where(Question.activity_id == activity.id).order_by(Question.position))
    )


def has_answered(activity: Activity, user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return (
        db.session.scalar(
            select(QuestionnaireResponse.id).where(
                QuestionnaireResponse.activity_id == activity.id, QuestionnaireResponse.user_id == user.id
            )
        )
        is not None
    )


def answer(user, activity: Activity, answers: dict) -> QuestionnaireResponse:
    """answers: {question_id: [option indexes] | "text"}. Choice questions are required, text ones
    optional. Once per member (a unique constraint backs the check)."""
    _require(may_participate(user, activity), "activity.participate")
    if not kind_of(activity).questionnaire:
        raise ActivityError("no_questionnaire")
    check_open(activity)
    if has_answered(activity, user):
        raise ActivityError("already_answered")
    rows, missing = [], []
    for number, q in enumerate(questions_of(activity), start=1):
        value = answers.get(q.id)
        if q.kind == "text":
            text = plain(value if isinstance(value, str) else "", 2000, multiline=True)
            rows.append(Answer(question_id=q.id, choices=[], text=text))
            continue
        raw = value if isinstance(value, list | tuple) else ([] if value in (None, "") else [value])
        try:
            choices = sorted({int(v) for v in raw})
        except (TypeError, ValueError):
            raise ActivityError("bad_answer") from None
        if not choices:
            missing.append(number)  # all of them are named at once, not one per try
            continue
        if any(c < 0 or c >= len(q.options) for c in choices):
            raise ActivityError("bad_answer")
        if q.kind == "single" and len(choices) != 1:
            raise ActivityError("bad_answer")
        rows.append(Answer(question_id=q.id, choices=choices, text=""))
    if missing:
        raise ActivityError("answer_required", questions=missing)
    response = QuestionnaireResponse(activity_id=activity.id, user_id=user.id)
    db.session.add(response)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ActivityError("already_answered") from None
    for row in rows:
        row.response_id = response.id
        db.session.add(row)
    db.session.execute(
        update(Activity).where(Activity.id == activity.id).values(response_count=Activity.response_count + 1)
    )
    db.session.commit()
    return response


def may_see_results(user, activity: Activity) -> bool:
    if may_manage(user, activity):
        return True
    return may_view(user, activity) and (has_answered(activity, user) or activity.phase(utcnow()) == "closed")


def results(activity: Activity, with_texts: bool = False) -> list[dict]:
    """Per question: option counts (choice questions) or the latest free texts (managers only)."""
    questions = questions_of(activity)
    counts = {q.id: [0] * len(q.options) for q in questions}
    texts: dict[int, list[str]] = {q.id: [] for q in questions}
    answered = dict.fromkeys((q.id for q in questions), 0)
    stmt = (
        select(Answer.question_id, Answer.choices, Answer.text)
        .join(QuestionnaireResponse, Answer.response_id == QuestionnaireResponse.id)
        .where(QuestionnaireResponse.activity_id == activity.id)
        .order_by(Answer.id.desc())
    )
    for qid, choices, text in db.session.execute(stmt):
        if qid not in counts:
            continue
        if choices:
            answered[qid] += 1
            for c in choices:
                if 0 <= c < len(counts[qid]):
                    counts[qid][c] += 1
        elif text:
            answered[qid] += 1
            if with_texts and len(texts[qid]) < 100:
                texts[qid].append(text)
    return [
        {"id": q.id, "kind": q.kind, "text": q.text, "options": list(q.options), "counts": counts[q.id],
         "answered": answered[q.id], "texts": texts[q.id]}
        for q in questions
    ]  # fmt: skip


# --- files -----------------------------------------------------------------------------------------


def activity_of_file(stored) -> Activity | None:
    """The activity a stored file belongs to (post attachment, shared resource or result form)."""
    if stored.purpose == "post":
        stmt = select(Post.activity_id).join(PostAttachment).where(PostAttachment.stored_file_id == stored.id)
    elif stored.purpose == "resource":
        stmt = select(SharedResource.activity_id).where(SharedResource.stored_file_id == stored.id)
    elif stored.purpose == "result_form":
        stmt = select(OfflineRecord.activity_id).where(OfflineRecord.form_file_id == stored.id)
    else:
        return None
    aid = db.session.scalar(stmt.limit(1))
    return db.session.get(Activity, aid) if aid is not None else None


def file_post_hidden(stored) -> bool:
    return bool(
        db.session.scalar(
            select(Post.hidden).join(PostAttachment).where(PostAttachment.stored_file_id == stored.id).limit(1)
        )
    )


def assessment_inputs(workshop, user_ids, year: int) -> dict[int, dict]:
    """What the assessment scheme (lms.assessment, DOMAIN.md §9) reads of each member's workshop life:
    effective posts in discussion activities, resources shared in sharing activities, resources
    produced in offline ones and the host's marks of their result forms (0-100, None when unmarked),
    and whether their research plan and summary of `year` are written. Four queries, whatever the
    number of members."""
    from lms.activities.models import Writing

    ids = list({int(u) for u in user_ids})
    out = {uid: {"effective_posts": 0, "shared_resources": 0, "offline_resources": 0, "offline_marks": [],
                 "plan": False, "summary": False} for uid in ids}  # fmt: skip
    wid = _workshop_id(workshop)
    for i in range(0, len(ids), 1000):
        chunk = ids[i : i + 1000]
        for uid, kind, effective, resources in db.session.execute(
            select(ActivityMemberStat.user_id, Activity.kind, func.sum(ActivityMemberStat.effective_count),
                   func.sum(ActivityMemberStat.resource_count))
            .join(Activity, Activity.id == ActivityMemberStat.activity_id)
            .where(ActivityMemberStat.workshop_id == wid, ActivityMemberStat.user_id.in_(chunk))
            .group_by(ActivityMemberStat.user_id, Activity.kind)
        ):  # fmt: skip
            row = out[uid]
            if kind == "discussion":
                row["effective_posts"] += int(effective or 0)
            elif kind == "sharing":
                row["shared_resources"] += int(resources or 0)
            elif kind == "offline":
                row["offline_resources"] += int(resources or 0)
        for uid, score in db.session.execute(
            select(OfflineRecord.user_id, OfflineRecord.score)
            .join(Activity, Activity.id == OfflineRecord.activity_id)
            .where(Activity.workshop_id == wid, OfflineRecord.user_id.in_(chunk), OfflineRecord.score.is_not(None))
        ):  # fmt: skip
            out[uid]["offline_marks"].append(int(score))
        for uid, kind in db.session.execute(
            select(Writing.author_id, Writing.kind)
            .where(Writing.workshop_id == wid, Writing.year == year, Writing.author_id.in_(chunk),
                   Writing.kind.in_(("plan", "summary")))
            .distinct()
        ):  # fmt: skip
            out[uid][kind] = True
    return out

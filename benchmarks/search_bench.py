"""Search benchmark: `python benchmarks/search_bench.py [--docs 100000] [--http-seconds 10]`.

Generates Chinese documents of realistic length (titles of 3–5 terms, bodies of 250–600
characters) from a list of real teacher-training vocabulary, spread over a region tree built in a
temporary SQLite database (1 province, 4 cities, 16 counties, 64 schools). Indexes them with
lms.search (Whoosh + jieba, file storage, the single writer thread) and, as the baseline in the
same run, into SQLite FTS5 over the same jieba segmentation. Prints indexing docs/s, index size,
in-process query p50/p95/p99 for one-word, two-word and filtered (a teacher's permission filter +
a subject) queries, both engines returning the first page of 20 with total and snippets (and, Whoosh
only, pinyin typed part way); recall of both on two-word queries whose answers are known (documents
containing both words); and p50/p95/p99
over HTTP (/api/v1/search; gunicorn with gunicorn.conf.py, or --server werkzeug) with 8 concurrent
searchers. In-process queries run twice: cold (first sight of each term in this index) and warm.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VOCAB = [
    "信息技术",
    "学科融合",
    "核心素养",
    "教学设计",
    "课堂教学",
    "校本研修",
    "教研活动",
    "集体备课",
    "观课评课",
    "磨课",
    "微课",
    "课例研究",
    "行动研究",
    "小课题",
    "研修日志",
    "研修计划",
    "研修总结",
    "工作坊",
    "坊主",
    "学科专家",
    "教学反思",
    "说课",
    "公开课",
    "示范课",
    "同课异构",
    "教学目标",
    "教学重难点",
    "学情分析",
    "教学评价",
    "形成性评价",
    "过程性评价",
    "作业设计",
    "分层作业",
    "双减",
    "减负增效",
    "大单元教学",
    "项目式学习",
    "探究式学习",
    "合作学习",
    "自主学习",
    "深度学习",
    "情境教学",
    "任务驱动",
    "问题导向",
    "思维导图",
    "翻转课堂",
    "混合式学习",
    "智慧课堂",
    "交互式白板",
    "多媒体课件",
    "在线学习",
    "网络研修",
    "数字资源",
    "教育资源",
    "资源共享",
    "国家智慧教育平台",
    "人工智能",
    "数据分析",
    "学习分析",
    "教育信息化",
    "信息素养",
    "数字素养",
    "师德师风",
    "立德树人",
    "课程思政",
    "劳动教育",
    "美育",
    "体育与健康",
    "心理健康",
    "家校合作",
    "班级管理",
    "班主任",
    "学生发展",
    "个性化辅导",
    "差异化教学",
    "因材施教",
    "阅读教学",
    "写作教学",
    "整本书阅读",
    "古诗词",
    "文言文",
    "口语交际",
    "识字写字",
    "数学思维",
    "数感",
    "运算能力",
    "几何直观",
    "空间观念",
    "数据意识",
    "模型思想",
    "应用意识",
    "函数",
    "方程",
    "概率统计",
    "英语听说",
    "词汇教学",
    "语法教学",
    "阅读理解",
    "书面表达",
    "实验教学",
    "科学探究",
    "物理观念",
    "化学实验",
    "生命观念",
    "历史解释",
    "时空观念",
    "区域认知",
    "综合思维",
    "地理实践",
    "法治意识",
    "道德与法治",
    "音乐欣赏",
    "美术创作",
    "信息科技",
    "编程教育",
    "创客教育",
    "科学素养",
    "STEM",
    "跨学科学习",
    "综合实践活动",
    "研学旅行",
    "课后服务",
    "学业质量",
    "学业水平",
    "考试评价",
    "命题设计",
    "试题分析",
    "教学质量",
    "质量监测",
    "教师专业发展",
    "职后培训",
    "国培计划",
    "省培计划",
    "送教下乡",
    "乡村教师",
    "骨干教师",
    "名师工作室",
    "青年教师",
    "新教师",
    "师徒结对",
    "教学基本功",
    "粉笔字",
    "教学技能",
    "教学能力",
    "课程标准",
    "新课标",
    "教材分析",
    "单元整体",
    "学习任务群",
    "评价量规",
    "学习单",
    "导学案",
    "课堂观察",
    "课堂提问",
    "课堂互动",
    "小组合作",
    "教学策略",
    "教学方法",
    "教学模式",
    "有效教学",
]
CONNECT = ["在", "通过", "围绕", "结合", "基于", "针对", "关于", "对于", "聚焦", "依托"]
VERBS = [
    "开展",
    "推进",
    "探索",
    "实施",
    "优化",
    "落实",
    "提升",
    "改进",
    "总结",
    "分享",
    "反思",
    "研讨",
    "设计",
    "组织",
    "指导",
]
TAILS = ["取得了良好效果", "值得进一步研究", "受到学员好评", "形成了可推广的经验", "提高了课堂效率", "促进了学生发展"]
SUBJECTS = ["chinese", "math", "english", "physics", "chemistry", "biology", "history", "it", "art", "music"]
STAGES = ["primary", "junior", "senior"]


def sentence(rng: random.Random) -> str:
    a, b = rng.sample(VOCAB, 2)
    return f"{rng.choice(CONNECT)}{a}，{rng.choice(VERBS)}{b}{rng.choice(['的实践', '的研究', '的案例', '活动', ''])}，{rng.choice(TAILS)}。"  # noqa: E501


def make_doc(rng: random.Random, i: int, paths: list[str]) -> dict:
    title = "".join(rng.sample(VOCAB, rng.randint(2, 3))) + rng.choice(
        ["的实践研究", "案例", "教学设计", "研修心得", "课件"]
    )
    target = rng.randint(250, 600)
    body = []
    n = 0
    while n < target:
        s = sentence(rng)
        body.append(s)
        n += len(s)
    return {
        "kind": "resource", "id": i, "title": title, "body": "".join(body), "url": f"/resources/{i}",
        "context_path": rng.choice(paths), "owner_id": rng.randint(1, 5000), "stage": rng.choice(STAGES),
        "subject": rng.choice(SUBJECTS), "type": rng.choice(["courseware", "lesson_design", "case", "reflection"]),
        "created_at": None,
    }  # fmt: skip


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000


def fmt(values: list[float]) -> str:
    return f"p50 {pct(values, 50):6.1f} ms  p95 {pct(values, 95):6.1f} ms  p99 {pct(values, 99):6.1f} ms"


def build_world(app):
    from lms.access.services import assign
    from lms.accounts.services import create_user, issue_token
    from lms.communities import services as community
    from lms.extensions import db

    province = community.create_region("江西省", "province")
    counties, schools = [], []
    for c in range(4):
        city = community.create_region(f"第{c + 1}市", "city", province)
        for k in range(4):
            county = community.create_region(f"第{c + 1}市{k + 1}县", "county", city)
            counties.append(county)
            for s in range(4):
                schools.append(community.create_school(f"{county.name}第{s + 1}小学", county, stage="primary"))
    db.session.flush()
    teacher = create_user("bench_teacher", "测试教师", "Bench2026!", school=schools[0])
    admin = create_user("bench_admin", "省管理员", "Bench2026!")
    db.session.flush()
    assign(admin, "province_admin", province.context)
    db.session.commit()
    paths = [s.context.path for s in schools] + [c.context.path for c in counties] + [province.context.path]
    token = issue_token(teacher, 1, "bench")
    db.session.commit()
    return teacher, admin, paths, token


def _seg_all(text):
    from lms.search.whoosh_index import ANALYZER

    return [t.text for t in ANALYZER(text)]


def reuse_world(app, paths_file: Path):
    """The users, paths and a fresh token of a database build_world made earlier (--keep)."""
    from sqlalchemy import select

    from lms.accounts.models import User
    from lms.accounts.services import issue_token
    from lms.extensions import db

    teacher = db.session.scalar(select(User).where(User.username == "bench_teacher"))
    admin = db.session.scalar(select(User).where(User.username == "bench_admin"))
    paths = json.loads(paths_file.read_text())
    token = issue_token(teacher, 1, "bench")
    db.session.commit()
    return teacher, admin, paths, token


def fts5_build(db_path: Path, docs: list[dict], analyze) -> float:
    con = sqlite3.connect(db_path)
    con.execute("CREATE VIRTUAL TABLE fts USING fts5(title, body)")
    con.execute("CREATE TABLE meta (id INTEGER PRIMARY KEY, context_path TEXT, subject TEXT)")
    con.execute("CREATE INDEX meta_path ON meta (context_path)")
    started = time.perf_counter()
    for i in range(0, len(docs), 1000):
        chunk = docs[i : i + 1000]
        con.executemany(
            "INSERT INTO fts (rowid, title, body) VALUES (?, ?, ?)",
            [(d["id"], " ".join(analyze(d["title"])), " ".join(analyze(d["body"]))) for d in chunk],
        )
        con.executemany(
            "INSERT INTO meta VALUES (?, ?, ?)", [(d["id"], d["context_path"], d["subject"]) for d in chunk]
        )
        con.commit()
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def fts5_query(con, terms, prefixes=None, exact=None, subject=None, limit=20):
    match = " AND ".join('"' + t.replace('"', "") + '"' for t in terms)
    where, args = ["fts MATCH ?"], [match]
    if prefixes is not None:
        conds = ["meta.context_path LIKE ?" for _ in prefixes] + ["meta.context_path = ?" for _ in exact]
        args += [p + "%" for p in prefixes] + list(exact)
        where.append("(" + " OR ".join(conds) + ")")
    if subject:
        where.append("meta.subject = ?")
        args.append(subject)
    w = " AND ".join(where)
    total = con.execute(f"SELECT count(*) FROM fts JOIN meta ON meta.id = fts.rowid WHERE {w}", args).fetchone()[0]  # noqa: S608, E501
    rows = con.execute(
        f"SELECT fts.rowid, snippet(fts, 1, '<mark>', '</mark>', '…', 16) FROM fts JOIN meta ON meta.id = fts.rowid "  # noqa: S608, E501
        f"WHERE {w} ORDER BY rank LIMIT {limit}",
        args,
    ).fetchall()
    return total, rows


def serve(args):
    """Child process: the app over the benchmark's database and index, threaded WSGI server."""
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    from lms import create_app

    app = create_app({"DATABASE_URL": args.database_url, "SEARCH_INDEX_DIR": args.index_dir, "SECRET_KEY": "bench"})
    srv = make_server("127.0.0.1", args.port, app, threaded=True)
    print("ready", flush=True)
    srv.serve_forever()


def wait_ready(port: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the server did not start")


def http_bench(port: int, token: str, queries: list[str], seconds: float, workers: int = 8):
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def run(n):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        rng = random.Random(n)
        mine = []
        while time.monotonic() < stop:
            q = rng.choice(queries)
            from urllib.parse import quote

            t0 = time.perf_counter()
            conn.request("GET", f"/api/v1/search?q={quote(q)}", headers={"Authorization": f"Bearer {token}"})
            resp = conn.getresponse()
            resp.read()
            mine.append(time.perf_counter() - t0)
            if resp.status != 200:
                errors[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--http-seconds", type=float, default=10.0)
    ap.add_argument("--http-warmup", type=float, default=30.0, help="seconds of searching before measuring")
    ap.add_argument("--http-store", choices=("empty", "kept"), default="empty",
                    help="start the HTTP phase with the shared bitmap store emptied (every term is built "
                         "once more, during the warm-up) or kept from the in-process phase")  # fmt: skip
    ap.add_argument("--server", choices=("gunicorn", "werkzeug"), default="gunicorn")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", metavar="DIR", help="build database, index and FTS5 in DIR and keep them; a later "
                    "run with the same DIR (and --docs, --seed) reuses them instead of indexing again")  # fmt: skip
    ap.add_argument("--no-http", action="store_true", help="skip the HTTP phase")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--database-url", help=argparse.SUPPRESS)
    ap.add_argument("--index-dir", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        return serve(args)

    results: dict = {}
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="search-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    built = tmp / f"built-{args.docs}-{args.seed}"  # written once database, index and FTS5 are complete
    reuse = bool(args.keep) and built.exists()
    if args.keep and not reuse:  # a partial earlier build: start again
        shutil.rmtree(tmp / "index", ignore_errors=True)
        for path in tmp.glob("*.sqlite3*"):
            path.unlink()
    db_url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    index_dir = str(tmp / "index")
    try:
        from flask_migrate import upgrade

        from lms import create_app
        from lms.search import services
        from lms.search.whoosh_index import analyze, pinyin_forms

        app = create_app({"DATABASE_URL": db_url, "SEARCH_INDEX_DIR": index_dir, "SECRET_KEY": "bench"})
        with app.app_context():
            if not reuse:
                upgrade()
                teacher, admin, paths, token = build_world(app)
                (tmp / "paths.json").write_text(json.dumps(paths))
            else:
                upgrade()  # migrations added since the folder was built
                teacher, admin, paths, token = reuse_world(app, tmp / "paths.json")
            rng = random.Random(args.seed)
            t0 = time.perf_counter()
            docs = [make_doc(rng, i + 1, paths) for i in range(args.docs)]
            avg = statistics.mean(len(d["title"]) + len(d["body"]) for d in docs)
            print(
                f"corpus: {len(docs)} documents, {avg:.0f} characters on average, generated in {time.perf_counter() - t0:.1f} s"  # noqa: E501
            )
            print(f"uptime before: {uptime()}")

            ix = services.engine(app)
            fts_path = tmp / "fts.sqlite3"
            if reuse:
                print(f"reusing the index and FTS5 database in {tmp} ({ix.doc_count()} documents)")
            else:
                ix.index()
                ix.flush()
                started = time.perf_counter()
                for i in range(0, len(docs), 5000):
                    ix.put("docs", docs[i : i + 5000])
                ix.flush(timeout=7200)  # no optimize: what `flask lms reindex` leaves (segments of 2,000)
                w_time = time.perf_counter() - started
                print(f"whoosh: indexed {ix.doc_count()} docs in {w_time:.1f} s = {len(docs) / w_time:,.0f} docs/s, "
                      f"index {ix.size_bytes() / 1e6:.1f} MB, failed batches {ix.errors}")  # fmt: skip
                results["indexing"] = {
                    "whoosh_docs_s": round(len(docs) / w_time),
                    "whoosh_mb": round(ix.size_bytes() / 1e6),
                }

                f_time = fts5_build(fts_path, docs, _seg_all)
                print(f"fts5:   indexed {len(docs)} docs in {f_time:.1f} s = {len(docs) / f_time:,.0f} docs/s "
                      f"(jieba segmentation included), database {fts_path.stat().st_size / 1e6:.1f} MB")  # fmt: skip
                results["indexing"]["fts5_docs_s"] = round(len(docs) / f_time)
                if args.keep:
                    built.touch()

            qrng = random.Random(args.seed + 1)
            one = [qrng.choice(VOCAB) for _ in range(args.queries)]
            two = [" ".join(qrng.sample(VOCAB, 2)) for _ in range(args.queries)]
            vis_admin = services.visibility(admin)
            vis_teacher = services.visibility(teacher)
            con = sqlite3.connect(fts_path)

            # Two passes over the same queries for both engines: "cold" is the first time each
            # term (and filter) is seen by this index generation, "warm" the steady state.
            for label, queries, vis, subject in (
                ("one-word", one, vis_admin, None),
                ("two-word", two, vis_admin, None),
                ("filtered", one, vis_teacher, "math"),
            ):
                fields = {"subject": subject} if subject else None
                sc = vis[0]  # the community.view rule (the corpus is resources)
                for phase in ("cold", "warm"):
                    w_lat, f_lat, w_tot, f_tot = [], [], 0, 0
                    for q in queries:
                        terms = analyze(q)
                        t = time.perf_counter()
                        r = ix.search(terms, rules=vis, fields=fields, page=1, per_page=20)
                        w_lat.append(time.perf_counter() - t)
                        w_tot += r["total"]
                        t = time.perf_counter()
                        total, _ = fts5_query(con, terms, sc["prefixes"], sc["exact"], subject)
                        f_lat.append(time.perf_counter() - t)
                        f_tot += total
                    print(f"{label:9s} {phase} whoosh {fmt(w_lat)}   avg hits {w_tot / len(queries):,.0f}")
                    print(f"{'':9s} {phase} fts5   {fmt(f_lat)}   avg hits {f_tot / len(queries):,.0f}")
                    results.setdefault(label, {})[phase] = {
                        "whoosh_p95_ms": round(pct(w_lat, 95), 1), "fts5_p95_ms": round(pct(f_lat, 95), 1),
                    }  # fmt: skip

            # Pinyin typed part way (the query's last word is a prefix, Whoosh only: FTS5 has no pinyin):
            # each one-word query's whole pinyin less its last two letters, against the one-word Chinese
            # queries above in the same index.
            typed = [max(pinyin_forms(w), key=len)[:-2] for w in one if pinyin_forms(w)]
            typed = [t for t in typed if len(t) >= 2]
            for phase in ("cold", "warm"):
                p_lat, p_tot = [], 0
                for q in typed:
                    t = time.perf_counter()
                    r = ix.search(analyze(q), rules=vis_admin, page=1, per_page=20)
                    p_lat.append(time.perf_counter() - t)
                    p_tot += r["total"]
                print(f"{'prefix':9s} {phase} whoosh {fmt(p_lat)}   avg hits {p_tot / max(1, len(typed)):,.0f}")
                results.setdefault("pinyin-prefix", {})[phase] = {"whoosh_p95_ms": round(pct(p_lat, 95), 1)}

            # Recall on two-word queries with known answers: documents whose text contains both words.
            rec_w, rec_f = [], []
            for q in two[:40]:
                a, b = q.split()
                truth = {
                    d["id"] for d in docs if (a in d["title"] or a in d["body"]) and (b in d["title"] or b in d["body"])
                }
                if not truth:
                    continue
                terms = analyze(q)
                got_w = {int(k.split(":")[1]) for k in ix.match_keys(terms)}  # the bitmaps search uses
                match = " AND ".join(f'"{t}"' for t in terms)
                got_f = {r[0] for r in con.execute("SELECT rowid FROM fts WHERE fts MATCH ?", (match,))}
                rec_w.append(len(got_w & truth) / len(truth))
                rec_f.append(len(got_f & truth) / len(truth))
            print(
                f"bitmap store {ix.store_bytes() / 1e6:.1f} MB, {ix.built} bitmaps built from postings in this process"
            )
            print(f"recall on {len(rec_w)} two-word queries with known answers: whoosh {statistics.mean(rec_w):.3f}, "
                  f"fts5 {statistics.mean(rec_f):.3f}")  # fmt: skip
            con.close()

        if not args.no_http:
            # HTTP with 8 concurrent searchers against a child process serving the same index.
            if args.http_store == "empty":
                if ix._store is not None:
                    ix._store.close()
                for path in Path(index_dir).glob(".bitmaps.sqlite3*"):
                    path.unlink()
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            if args.server == "gunicorn":  # the production server and settings (gunicorn.conf.py)
                env = dict(os.environ, LMS_DATABASE_URL=db_url, LMS_SEARCH_INDEX_DIR=index_dir, LMS_SECRET_KEY="bench")
                cmd = [str(Path(sys.executable).with_name("gunicorn")), "-c", "gunicorn.conf.py",
                       "-b", f"127.0.0.1:{port}", "wsgi:app"]  # fmt: skip
                child = subprocess.Popen(cmd, cwd=str(ROOT), env=env, stdout=subprocess.DEVNULL)
            else:
                child = subprocess.Popen(
                    [sys.executable, __file__, "--serve", "--database-url", db_url, "--index-dir", index_dir, "--port", str(port)],  # noqa: E501
                    stdout=subprocess.PIPE, cwd=str(ROOT),
                )  # fmt: skip
            try:
                wait_ready(port)
                http_queries = one[:100] + two[:100]
                label = "gunicorn (gunicorn.conf.py)" if args.server == "gunicorn" else "werkzeug threaded"
                # The warm-up: fresh workers open the index and build (or read) the bitmaps.
                w_lat, w_err = http_bench(port, token, http_queries, args.http_warmup)
                print(f"http warm-up, first {args.http_warmup:.0f} s of fresh workers, bitmap store {args.http_store}: "
                      f"{len(w_lat) / args.http_warmup:,.0f} req/s, {fmt(w_lat)}, errors {w_err}")  # fmt: skip
                results["http_warmup"] = {"seconds": args.http_warmup, "req_s": round(len(w_lat) / args.http_warmup),
                                          "p95_ms": round(pct(w_lat, 95), 1), "store": args.http_store}  # fmt: skip
                lat, errors = http_bench(port, token, http_queries, args.http_seconds)
                print(f"http, {label}, 8 concurrent searchers (teacher's permission filter): "
                      f"{len(lat) / args.http_seconds:,.0f} req/s, {fmt(lat)}, errors {errors}")  # fmt: skip
                results["http"] = {"req_s": round(len(lat) / args.http_seconds), "p95_ms": round(pct(lat, 95), 1),
                                   "errors": errors}  # fmt: skip
            finally:
                child.terminate()
                child.wait(30)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"uptime after: {uptime()}")
    print(json.dumps({"docs": args.docs, **results}))


if __name__ == "__main__":
    main()

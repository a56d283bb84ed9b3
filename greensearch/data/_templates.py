"""Bug-class templates for the synthetic C dataset (see :mod:`greensearch.data._synthetic`).

Each template returns a :class:`Snippet` for one bug class, vulnerable or its fixed twin, so
the two differ only where the bug lives (``<=`` vs ``<``, a missing check, a size argument).
``hard`` variants use risky APIs safely or safe-looking APIs wrongly: that is what keeps
the task from being a keyword lookup.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["TEMPLATES", "Block", "Ctx", "Snippet", "distractor"]

_POOLS: dict[str, tuple[str, ...]] = {
    "buf": (
        "buf",
        "dst",
        "out",
        "tmp",
        "name",
        "path",
        "line",
        "local",
        "scratch",
        "dest",
        "tbuf",
        "hdr",
        "label",
        "field",
        "word",
        "title",
        "host",
        "cmd",
        "msgbuf",
        "ident",
    ),
    "src": (
        "src",
        "input",
        "arg",
        "str",
        "user",
        "data",
        "in",
        "s",
        "text",
        "value",
        "raw",
        "payload",
        "req",
        "query",
        "token",
        "param",
        "origin",
        "spec",
    ),
    "len": (
        "len",
        "n",
        "size",
        "count",
        "nbytes",
        "sz",
        "length",
        "cnt",
        "num",
        "want",
        "avail",
        "nelem",
        "datalen",
        "reqlen",
    ),
    "ptr": (
        "p",
        "ptr",
        "node",
        "ctx",
        "item",
        "obj",
        "rec",
        "entry",
        "conn",
        "sess",
        "elem",
        "blk",
        "dev",
        "priv",
        "st",
    ),
    "idx": ("i", "j", "k", "idx", "pos", "off", "x"),
    "fp": ("fp", "f", "file", "stream", "in_fp", "cfg_fp"),
    "int": ("rc", "ret", "err", "status", "result", "res", "error"),
    "struct": (
        "node",
        "conn",
        "item",
        "record",
        "session",
        "packet",
        "entry",
        "chunk",
        "frame",
        "peer",
        "client",
        "msg",
        "request",
        "elem",
    ),
    "field": ("id", "len", "flags", "type", "refcnt", "state", "count", "size", "mode", "seq"),
}
_SIZES = (8, 16, 20, 24, 32, 40, 48, 64, 80, 100, 128, 200, 256, 512, 1024)
_MACROS = (
    "MAX_NAME",
    "BUF_SIZE",
    "PATH_LEN",
    "NAME_LEN",
    "LINE_MAX",
    "HDR_SIZE",
    "MAX_LABEL",
    "TOKEN_LEN",
    "MSG_MAX",
    "KEY_SIZE",
)


@dataclass
class Block:
    """A braced statement: ``head { body }`` plus an optional ``tail`` (``while (x);``)."""

    head: str
    body: list[str | Block]
    tail: str | None = None


Stmt = str | Block


@dataclass
class Snippet:
    """One function's core: return type, parameters and body statements."""

    ret: str
    params: list[str]
    body: list[Stmt]
    bug_class: str
    vul: bool


@dataclass
class Ctx:
    """Random source plus per-function name bookkeeping (no identifier is used twice)."""

    rng: random.Random
    used: set[str] = field(default_factory=set)

    def name(self, role: str) -> str:
        """Pick an unused identifier for ``role`` from its pool (suffixing a digit if needed)."""
        pool = _POOLS[role]
        for _ in range(8):
            cand = self.rng.choice(pool)
            if cand not in self.used:
                break
        while cand in self.used:
            cand = f"{cand}{self.rng.randint(2, 9)}"
        self.used.add(cand)
        return cand

    def size(self) -> tuple[str, int]:
        """A buffer size as written in the declaration (literal or macro) and its value."""
        n = self.rng.choice(_SIZES)
        if self.rng.random() < 0.3:
            return self.rng.choice(_MACROS), n
        return str(n), n

    def pick(self, *options: str) -> str:
        """Uniform choice among the given strings."""
        return self.rng.choice(options)


def _err(ret: str) -> str:
    """The error return statement matching a return type."""
    if ret == "void":
        return "return;"
    if ret.endswith("*"):
        return "return NULL;"
    return "return -1;"


def _guard(cond: str, ret: str) -> Block:
    return Block(f"if ({cond})", [_err(ret)])


def unbounded_copy(c: Ctx, vul: bool, hard: bool) -> Snippet:
    """strcpy/strcat/sprintf/gets into a fixed buffer vs bounded copies with correct sizes."""
    buf, src, rc = c.name("buf"), c.name("src"), c.name("int")
    size, n = c.size()
    params = [f"const char *{src}"]
    body: list[Stmt] = [f"char {buf}[{size}];", f"int {rc} = 0;"]
    kind = c.rng.randrange(4)
    if not hard:
        if kind == 0:
            body += (
                [f"strcpy({buf}, {src});"]
                if vul
                else [
                    f"strncpy({buf}, {src}, sizeof({buf}) - 1);",
                    f"{buf}[sizeof({buf}) - 1] = '\\0';",
                ]
            )
        elif kind == 1:
            pre = c.pick("/tmp/", "user:", "cfg.", "http://", "key=")
            body += (
                [f'strcpy({buf}, "{pre}");', f"strcat({buf}, {src});"]
                if vul
                else [
                    f'strcpy({buf}, "{pre}");',
                    f"strncat({buf}, {src}, sizeof({buf}) - strlen({buf}) - 1);",
                ]
            )
        elif kind == 2:
            d = c.name("src")
            params.append(f"const char *{d}")
            fmt = c.pick("%s/%s", "%s:%s", "%s=%s", "%s.%s")
            body.append(
                f'sprintf({buf}, "{fmt}", {d}, {src});'
                if vul
                else f'snprintf({buf}, sizeof({buf}), "{fmt}", {d}, {src});'
            )
        else:
            body += (
                [f"gets({buf});"]
                if vul
                else [_guard(f"fgets({buf}, sizeof({buf}), stdin) == NULL", "int")]
            )
            body.append(f"{rc} = lookup({buf}, {src});")
    else:
        ln = c.name("len")
        if kind == 0:
            op = ">" if vul else ">="
            body += [_guard(f"strlen({src}) {op} sizeof({buf})", "int"), f"strcpy({buf}, {src});"]
        elif kind == 1:
            body += (
                [f"strncpy({buf}, {src}, strlen({src}));"]
                if vul
                else [
                    f"size_t {ln} = strlen({src});",
                    Block(f"if ({ln} >= sizeof({buf}))", [f"{ln} = sizeof({buf}) - 1;"]),
                    f"memcpy({buf}, {src}, {ln});",
                    f"{buf}[{ln}] = '\\0';",
                ]
            )
        elif kind == 2:
            body[0] = f"char {buf}[{n}];"
            bound = str(n * 2) if vul else str(n)
            body.append(f'snprintf({buf}, {bound}, "%s", {src});')
        else:
            params.append(f"size_t {ln}")
            if not vul:
                body.append(_guard(f"{ln} > sizeof({buf})", "int"))
            body.append(f"memcpy({buf}, {src}, {ln});")
    body.append(f"{rc} = process_{c.pick('name', 'entry', 'field', 'line')}({buf});")
    body.append(f"return {rc};")
    return Snippet("int", params, body, "unbounded_copy", vul)


def format_string(c: Ctx, vul: bool, hard: bool) -> Snippet:
    """A caller-controlled string used as the format (printf(msg)) vs printf("%s", msg)."""
    msg, code = c.name("src"), c.name("int")
    params = [f"const char *{msg}", f"int {code}"]
    body: list[Stmt] = []
    kind = c.rng.randrange(4)
    if not hard:
        if kind == 0:
            body.append(f"printf({msg});" if vul else f'printf("%s", {msg});')
        elif kind == 1:
            body.append(f"fprintf(stderr, {msg});" if vul else f"fputs({msg}, stderr);")
        elif kind == 2:
            lvl = c.pick("LOG_ERR", "LOG_WARNING", "LOG_INFO", "LOG_NOTICE")
            body.append(f"syslog({lvl}, {msg});" if vul else f'syslog({lvl}, "%s", {msg});')
        else:
            buf = c.name("buf")
            body.append(f"char {buf}[{c.size()[0]}];")
            body.append(
                f"snprintf({buf}, sizeof({buf}), {msg});"
                if vul
                else f'snprintf({buf}, sizeof({buf}), "%s", {msg});'
            )
            body.append(f"emit_line({buf});")
    else:
        if kind == 0:
            fp = c.name("fp")
            params.insert(0, f"FILE *{fp}")
            body.append(
                f"fprintf({fp}, {msg}, {code});"
                if vul
                else f'fprintf({fp}, "%s (%d)\\n", {msg}, {code});'
            )
        elif kind == 1:
            fmt = c.name("buf")
            body.append(f"char {fmt}[{c.size()[0]}];")
            body.append(f'snprintf({fmt}, sizeof({fmt}), "%s: %s\\n", progname, {msg});')
            body.append(f"printf({fmt});" if vul else f'printf("%s", {fmt});')
        elif kind == 2:
            fmt = c.name("buf")
            if vul:
                body += [f"const char *{fmt} = {msg};", f"printf({fmt}, {code});"]
            else:
                body += [f'const char *{fmt} = "%s: %d\\n";', f"printf({fmt}, {msg}, {code});"]
        else:
            body.append(
                f"err_report({code}, {msg});" if vul else f'err_report({code}, "%s", {msg});'
            )
    body.append(f"return {code};")
    return Snippet("int", params, body, "format_string", vul)


def off_by_one(c: Ctx, vul: bool, hard: bool) -> Snippet:
    """A loop or terminator one past the end (``<=`` on a length) vs ``<``."""
    buf, src, i = c.name("buf"), c.name("src"), c.name("idx")
    size, _ = c.size()
    typ = c.pick("char", "int", "unsigned char", "uint32_t", "short")
    params = [f"const {typ} *{src}"]
    body: list[Stmt] = [f"{typ} {buf}[{size}];", f"size_t {i};"]
    kind = c.rng.randrange(3)
    if kind == 0:
        if hard:
            bound = f"{size} + 1" if vul else f"{size} - 1"
            body.append(
                Block(
                    f"for ({i} = 0; {i} {'<' if vul else '<='} {bound}; {i}++)",
                    [f"{buf}[{i}] = {src}[{i}];"],
                )
            )
        else:
            body.append(
                Block(
                    f"for ({i} = 0; {i} {'<=' if vul else '<'} {size}; {i}++)",
                    [f"{buf}[{i}] = {src}[{i}];"],
                )
            )
    elif kind == 1:
        ln, fd = c.name("len"), c.pick("fd", "sock", "sockfd", "conn_fd")
        params = [f"int {fd}"]
        body[0] = f"char {buf}[{size}];"
        body[1] = f"ssize_t {ln};"
        want = f"sizeof({buf})" if vul else f"sizeof({buf}) - 1"
        body += [
            f"{ln} = read({fd}, {buf}, {want});",
            _guard(f"{ln} < 0", "int"),
            f"{buf}[{ln}] = '\\0';",
        ]
        src = buf
    else:
        cnt = c.name("len")
        params.append(f"size_t {cnt}")
        body[0] = "long total = 0;"
        if hard:
            acc = f"{src}[{i}]" if vul else f"{src}[{i} - 1]"
            loop = Block(f"for ({i} = 1; {i} <= {cnt}; {i}++)", [f"total += {acc};"])
        else:
            loop = Block(
                f"for ({i} = 0; {i} {'<=' if vul else '<'} {cnt}; {i}++)", [f"total += {src}[{i}];"]
            )
        body += [loop, "return (int)(total % 256);"]
        return Snippet("int", params, body, "off_by_one", vul)
    body.append(f"return checksum({buf}, sizeof({buf}));")
    return Snippet("int", params, body, "off_by_one", vul)


def unchecked_alloc(c: Ctx, vul: bool, hard: bool) -> Snippet:
    """malloc(n * size) or a size read from input with no overflow or bound check."""
    p, cnt, i = c.name("ptr"), c.name("len"), c.name("idx")
    st = c.name("struct")
    ret = f"struct {st} *"
    params = [f"size_t {cnt}"]
    body: list[Stmt] = [f"struct {st} *{p};", f"size_t {i};"]
    kind = c.rng.randrange(3)
    if kind == 0:
        if hard:
            check = (
                f"{cnt} * sizeof(*{p}) > MAX_ALLOC" if vul else f"{cnt} > MAX_ALLOC / sizeof(*{p})"
            )
            body.append(_guard(check, ret))
        elif not vul:
            body.append(_guard(f"{cnt} == 0 || {cnt} > SIZE_MAX / sizeof(*{p})", ret))
        body += [f"{p} = malloc({cnt} * sizeof(*{p}));", _guard(f"{p} == NULL", ret)]
    elif kind == 1:
        if vul:
            body += [f"{p} = malloc(sizeof(*{p}) * {cnt});", _guard(f"!{p}", ret)]
        else:
            body += [f"{p} = calloc({cnt}, sizeof(*{p}));", _guard(f"!{p}", ret)]
    else:
        hdr, n, buf = c.name("src"), c.name("len"), c.name("buf")
        params = [f"const struct {st}_hdr *{hdr}", f"size_t {cnt}"]
        ret = "char *"
        body = [f"char *{buf};", f"uint32_t {n} = ntohl({hdr}->length);"]
        if not vul:
            bound = f"{cnt} - sizeof(*{hdr})" if hard else "MAX_PAYLOAD"
            body.append(_guard(f"{n} > {bound}", ret))
        body += [
            f"{buf} = malloc({n} + 1);",
            _guard(f"{buf} == NULL", ret),
            f"memcpy({buf}, {hdr}->data, {n});",
            f"{buf}[{n}] = '\\0';",
            f"return {buf};",
        ]
        return Snippet(ret, params, body, "unchecked_alloc", vul)
    body += [
        Block(f"for ({i} = 0; {i} < {cnt}; {i}++)", [f"{st}_init(&{p}[{i}]);"]),
        f"return {p};",
    ]
    return Snippet(ret, params, body, "unchecked_alloc", vul)


def use_after_free(c: Ctx, vul: bool, hard: bool) -> Snippet:
    """A pointer read after free() vs the value saved first or the next pointer kept."""
    p, st, f = c.name("ptr"), c.name("struct"), c.name("field")
    params = [f"struct {st} *{p}"]
    kind = c.rng.randrange(3)
    if kind == 0:
        v = c.name("int")
        body: list[Stmt] = [f"int {v};", f"{st}_flush({p});"]
        if vul:
            body += [f"free({p});", f"{v} = {p}->{f};"]
        else:
            body += [f"{v} = {p}->{f};", f"free({p});", f"{p} = NULL;"]
        body.append(f"return {v};")
    elif kind == 1:
        nxt = c.name("ptr")
        body = [f"struct {st} *{nxt};", "int freed = 0;"]
        if vul:
            loop = [f"free({p});", f"{p} = {p}->next;", "freed++;"]
        else:
            loop = [f"{nxt} = {p}->next;", f"free({p});", f"{p} = {nxt};", "freed++;"]
        body += [Block(f"while ({p} != NULL)", list(loop)), "return freed;"]
    else:
        nm = c.pick("name", "data", "buf", "label")
        if hard:
            reset = Block(
                f"if ({p}->{f} & FLAG_RESET)", [f"{p}->{nm} = NULL;" if vul else f"{p}->{f} = 0;"]
            )
            body = (
                [f"free({p}->{nm});", reset]
                if vul
                else [f"free({p}->{nm});", f"{p}->{nm} = NULL;", reset]
            )
            body.append(f"return {p}->{nm} ? (int)strlen({p}->{nm}) : 0;")
        else:
            body = [f"free({p}->{nm});", f"free({p});"]
            body.append(f"return {p}->{f};" if vul else "return 0;")
    return Snippet("int", params, body, "use_after_free", vul)


def null_deref(c: Ctx, vul: bool, hard: bool) -> Snippet:
    """malloc/fopen/strchr results used without a NULL check (or checked after use)."""
    kind = c.rng.randrange(3)
    if kind == 0:
        p, st, f = c.name("ptr"), c.name("struct"), c.name("field")
        body: list[Stmt] = [f"struct {st} *{p} = malloc(sizeof(*{p}));"]
        chk = _guard(f"{p} == NULL", "int")
        if hard:
            body[0] = f"struct {st} *{p};"
            body.append(f"{p} = malloc(sizeof(*{p}));")
            use = [f"{p}->{f} = 0;", f"{p}->next = NULL;"]
            body += [*use, chk] if vul else [chk, *use]
        else:
            body += ([] if vul else [chk]) + [f"memset({p}, 0, sizeof(*{p}));", f"{p}->{f} = 1;"]
        body += [f"register_{st}({p});", "return 0;"]
        return Snippet("int", [], body, "null_deref", vul)
    if kind == 1:
        fp, path, line = c.name("fp"), c.name("src"), c.name("buf")
        body = [
            f"char {line}[{c.size()[0]}];",
            "int lines = 0;",
            f'FILE *{fp} = fopen({path}, "{c.pick("r", "rb")}");',
        ]
        if not vul:
            body.append(_guard(f"!{fp}" if hard else f"{fp} == NULL", "int"))
        body += [
            Block(f"while (fgets({line}, sizeof({line}), {fp}) != NULL)", ["lines++;"]),
            f"fclose({fp});",
            "return lines;",
        ]
        return Snippet("int", [f"const char *{path}"], body, "null_deref", vul)
    src, s = c.name("src"), c.name("ptr")
    ch = c.pick("=", ":", "/", ",", ";")
    body = [f"char *{s} = strchr({src}, '{ch}');"]
    if not vul:
        body.append(_guard(f"{s} == NULL", "int"))
    body += [f"*{s}++ = '\\0';", f"return set_option({src}, {s});"]
    return Snippet("int", [f"char *{src}"], body, "null_deref", vul)


def double_free(c: Ctx, vul: bool, hard: bool) -> Snippet:
    """The same pointer freed on an error path and again at the common exit."""
    buf, n, rc = c.name("buf"), c.name("len"), c.name("int")
    body: list[Stmt] = [f"int {rc} = 0;", f"char *{buf} = malloc({n});", _guard(f"!{buf}", "int")]
    err: list[Stmt]
    if vul:
        err = [f"free({buf});", f"{rc} = -1;", "goto out;"]
    elif hard:
        err = [f"free({buf});", f"{buf} = NULL;", f"{rc} = -1;", "goto out;"]
    else:
        err = [f"{rc} = -1;", "goto out;"]
    body += [
        Block(f"if (read_block({buf}, {n}) < 0)", err),
        f"{rc} = parse_block({buf}, {n});",
        "out:",
        f"free({buf});",
        f"return {rc};",
    ]
    return Snippet("int", [f"size_t {n}"], body, "double_free", vul)


def signedness(c: Ctx, vul: bool, hard: bool) -> Snippet:
    """A signed length/index checked only against the upper bound (negatives slip through)."""
    buf, n = c.name("buf"), c.name("len")
    size, _ = c.size()
    if not hard:
        src = c.name("src")
        cond = f"{n} > {size}" if vul else f"{n} < 0 || {n} > {size}"
        body: list[Stmt] = [
            f"char {buf}[{size}];",
            _guard(cond, "int"),
            f"memcpy({buf}, {src}, {n});",
            f"return consume({buf}, {n});",
        ]
        return Snippet("int", [f"const char *{src}", f"int {n}"], body, "signedness", vul)
    arg, val = c.name("src"), c.name("int")
    typ, conv = ("int", "atoi") if vul else ("unsigned int", "strtoul")
    call = f"{conv}({arg})" if vul else f"{conv}({arg}, NULL, 10)"
    body = [
        f"{typ} {n} = {call};",
        _guard(f"{n} >= {size}", "int"),
        f"{buf}[{n}] = {val};",
        "return 0;",
    ]
    return Snippet("int", [f"const char *{arg}", f"int {val}"], body, "signedness", vul)


TEMPLATES: dict[str, Callable[[Ctx, bool, bool], Snippet]] = {
    "unbounded_copy": unbounded_copy,
    "format_string": format_string,
    "off_by_one": off_by_one,
    "unchecked_alloc": unchecked_alloc,
    "use_after_free": use_after_free,
    "null_deref": null_deref,
    "double_free": double_free,
    "signedness": signedness,
}


def distractor(c: Ctx, ret: str) -> list[Stmt]:
    """Irrelevant but plausible statements, including safe uses of risky-looking APIs."""
    k = c.rng.randrange(12)
    if k == 0:
        return ['log_debug("%s: enter", __func__);']
    if k == 1:
        v = c.name("int")
        return [
            f"int {v} = check_{c.pick('perm', 'state', 'quota', 'owner')}(getuid());",
            Block(f"if ({v} != 0)", [_err(ret)]),
        ]
    if k == 2:
        b = c.name("buf")
        return [
            f"char {b}[16];",
            f'strcpy({b}, "{c.pick("rw", "ro", "none", "auto")}");',
            f"set_mode({b});",
        ]
    if k == 3:
        j = c.name("idx")
        return [
            f"int {j};",
            "long acc = 0;",
            Block(f"for ({j} = 0; {j} < NSLOTS; {j}++)", [f"acc += slots[{j}];"]),
            "stats.total = acc;",
        ]
    if k == 4:
        word = c.pick("start", "retry", "done")
        return [
            Block("if (verbose)", [f'fprintf(stderr, "{word} %d\\n", {c.rng.randint(1, 99)});'])
        ]
    if k == 5:
        t = c.name("buf")
        return [f"char {t}[32];", f'snprintf({t}, sizeof({t}), "%d", getpid());', f"set_tag({t});"]
    if k == 6:
        return [f"stats.{c.pick('calls', 'hits', 'reqs', 'ops')}++;"]
    if k == 7:
        return [f"flags |= FLAG_{c.pick('DIRTY', 'BUSY', 'SEEN', 'LOCKED')};"]
    if k == 8:
        q = c.name("ptr")
        return [
            f"void *{q} = calloc(1, 64);",
            Block(f"if ({q} == NULL)", [_err(ret)]),
            f"cache_put({q});",
        ]
    if k == 9:
        return [
            Block(
                "switch (state)",
                [
                    f"case ST_{c.pick('IDLE', 'OPEN')}:",
                    "    break;",
                    "default:",
                    "    state = ST_IDLE;",
                    "    break;",
                ],
            )
        ]
    if k == 10:
        return [
            "pthread_mutex_lock(&lock);",
            f"refs{c.pick('', '_total')}++;",
            "pthread_mutex_unlock(&lock);",
        ]
    return ["memset(&opts, 0, sizeof(opts));"]

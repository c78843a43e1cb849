"""The one way the generators of committed tables (gen_*.py) write or check their file:
`--check` exits 1 when the file differs from what the package makes now."""
import os
import sys


def write_or_check(path, text, what):
    name = os.path.basename(path)
    if "--check" in sys.argv:
        same = os.path.exists(path) and open(path, encoding="utf-8").read() == text
        print("%s is %s" % (name, "up to date" if same else "out of date: regenerate it"))
        sys.exit(0 if same else 1)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print("wrote %s (%s)" % (path, what))


def swift_word_list(header, enum, words):
    """A Swift file of `header` lines (comments) and `enum` with one `list`: the words
    apart by spaces, in lines of at most 100 characters."""
    lines = header + ["enum %s {" % enum, '    static let list = """']
    row = "    "
    for w in words:
        if len(row) + len(w) > 100:
            lines.append(row.rstrip())
            row = "    "
        row += w + " "
    lines.append(row.rstrip())
    lines += ['    """', "}", ""]
    return "\n".join(lines)

#!/usr/bin/env python3
"""tmc-expect.py - what TMC would write for a job, from TMC's rules alone.

    tmc-expect.py TEMPLATE.json NAME ROOT PATH_TAIL RENAME_JSON < originals

Each line of stdin is "REL W H" (REL with its leading "/", W x H the
original's pixels, a video's frame size for an .mp4). Prints one line per
output, "out<TAB>PATH<TAB>W<TAB>H", and one per original,
"row<TAB>REL<TAB>requested<TAB>created<TAB>warnings" (doc/TMC.md, Result rows).

It is a second, independent reading of doc/TMC.md (Steps, Sizes, Output
paths, Rename, Video), so that a test compares the daemon's files with TMC's
rules and not with the daemon's own idea of them:
  - steps run in order; a step runs when its source_ext admits the file and
    its source is "hires" or an earlier step of that name that ran (the last
    one); a step whose source never ran is skipped (TMC counted a warning or
    lost its worker there: doc/TMC.md, Fixes: images), and so is an
    "ffmpeg" step on a file that is not an mp4;
  - size [W,H]: fit in the box (the wider-than-box picture to W, any other
    to H), [W,0] / [0,H] one side, [0,0] unchanged, the other side
    round-half-up and at least 1; pictures are enlarged, videos are not;
  - output = root . step.path_head . path_tail . rename(REL), ".jpg" for
    image steps, as is for ffmpeg steps; save false writes nothing.
"""
import json
import re
import sys


def fit(w, h, box, video):
    bw, bh = box
    if bw == 0 and bh == 0:
        return w, h
    if video and (bw == 0 or w <= bw) and (bh == 0 or h <= bh):
        return w, h  # tmc-video never enlarges (doc/TMC.md, Video)
    if bw and bh:
        by_width = w * bh > h * bw
    else:
        by_width = bh == 0
    if by_width:
        return bw, max(1, (2 * h * bw + w) // (2 * w))
    return max(1, (2 * w * bh + h) // (2 * h)), bh


def ext_admits(spec, ext):
    spec = (spec or "").lower()
    if spec == "":
        return True
    if spec.startswith("!"):
        return ext != spec[1:]
    return ext == spec


def php_empty(v):
    return v in ("", "0", None) or not isinstance(v, str)


def rename(rel, pairs):
    for search, repl in pairs.items():
        if php_empty(search) or php_empty(repl):
            continue
        rel = re.sub(re.escape(search), lambda _m: repl, rel, flags=re.IGNORECASE)
    return rel


def jpg(path):
    slash = path.rfind("/")
    dot = path.rfind(".")
    return (path[:dot] if dot > slash else path) + ".jpg"


def main():
    tpl_file, name, root, tail, pairs = sys.argv[1:6]
    steps = json.load(open(tpl_file, encoding="utf-8"))[name]["proc"]
    pairs = json.loads(pairs) if pairs else {}
    for line in sys.stdin:
        rel, w, h = line.split()
        ext = rel.rsplit(".", 1)[-1].lower()
        video = ext == "mp4"
        made = {}  # step name -> (w, h) of the last step of that name that ran
        created = 0
        for st in steps:
            if not ext_admits(st.get("source_ext"), ext):
                continue
            ffmpeg = bool(st.get("ffmpeg"))
            if ffmpeg and not video:
                continue
            src = st["source"]
            if src == "hires":
                size = (int(w), int(h))
            elif src in made:
                size = made[src]
            else:
                continue
            size = fit(size[0], size[1], st["size"], ffmpeg)
            if not ffmpeg:
                made[st["name"]] = size
            if st.get("save", True) is False:
                continue
            out = root + st["path_head"] + tail + rename(rel, pairs)
            print("out\t%s\t%d\t%d" % (out if ffmpeg else jpg(out), size[0], size[1]))
            created += 1
        print("row\t%s\t%d\t%d\t0" % (rel, len(steps), created))


main()

/**
 * What the documentation points at, read from Markdown text: relative
 * links, heading anchors and backticked repository paths. Pure; the docs
 * links test checks each against the repository.
 *
 * A backticked repository path is an inline code span whose whole text
 * starts with one of the repository's top-level folders (`REPO_FOLDERS`)
 * and a `/`, and holds no space and none of `< > { } $` (those are
 * patterns, such as `boards/<id>.board.json`). A `*` in it is a wildcard
 * that must match at least one file. Code blocks are not read: their
 * commands may name files a run creates. Paths under `state/` and
 * `.devicescript/` are made at run time and are not repository paths.
 */

/** Top-level folders whose paths the docs may name. */
export const REPO_FOLDERS = [
    "src",
    "host",
    "test",
    "boards",
    "deploy",
    "docs",
    ".ci",
]

/** The text without fenced code blocks (their lines become empty). */
export function withoutCodeBlocks(md: string): string {
    let inBlock = false
    return md
        .split("\n")
        .map(l => {
            if (/^\s*```/.test(l)) {
                inBlock = !inBlock
                return ""
            }
            return inBlock ? "" : l
        })
        .join("\n")
}

/** The inline code spans of prose (code blocks left out). */
export function codeSpans(md: string): string[] {
    const out: string[] = []
    const re = /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g
    for (const m of withoutCodeBlocks(md).matchAll(re)) out.push(m[2].trim())
    return out
}

/** The code spans that name a repository path (see the rule above). */
export function repoPaths(md: string): string[] {
    const start = new RegExp(
        `^(${REPO_FOLDERS.map(f => f.replace(".", "\\.")).join("|")})/`
    )
    return codeSpans(md).filter(s => start.test(s) && !/[\s<>{}$]/.test(s))
}

/** A link's target split into the file part and the anchor. */
export interface LinkTarget {
    file: string
    anchor?: string
}

/**
 * The relative link targets of prose: `[text](target)` and
 * `[text]: target` definitions, without URLs with a scheme (`https:`,
 * `mailto:`). A target of only `#anchor` has an empty `file`.
 */
export function relativeLinks(md: string): LinkTarget[] {
    const prose = withoutCodeBlocks(md).replace(/`[^`\n]*`/g, "")
    const targets: string[] = []
    for (const m of prose.matchAll(
        /\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g
    ))
        targets.push(m[1])
    for (const m of prose.matchAll(/^\s*\[[^\]]+\]:\s*(\S+)/gm))
        targets.push(m[1])
    return targets
        .filter(t => !/^[a-z][a-z0-9+.-]*:/i.test(t))
        .map(t => {
            const i = t.indexOf("#")
            if (i < 0) return { file: decodeURI(t) }
            return { file: decodeURI(t.slice(0, i)), anchor: t.slice(i + 1) }
        })
}

/**
 * The anchors of a page's headings, as GitHub makes them: lower case,
 * punctuation dropped, spaces to `-`, and `-1`, `-2` ... for repeats.
 */
export function headingAnchors(md: string): Set<string> {
    const seen = new Map<string, number>()
    const out = new Set<string>()
    for (const line of withoutCodeBlocks(md).split("\n")) {
        const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)
        if (!m) continue
        const base = m[1]
            .replace(/<[^>]*>/g, "")
            .toLowerCase()
            .replace(/[^\p{L}\p{N}\s_-]/gu, "")
            .replace(/\s/g, "-")
        const n = seen.get(base) ?? 0
        seen.set(base, n + 1)
        out.add(n ? `${base}-${n}` : base)
    }
    return out
}

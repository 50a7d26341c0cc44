/**
 * The documentation points only at what exists: every relative link of
 * README.md, CONTRIBUTING.md and docs/ names a file of the repository (and,
 * for a Markdown page, one of its headings), and every backticked
 * repository path (the rule is in host/docs/links.ts) names a file or
 * folder. When code moves, this is the test that says which page to fix.
 */
import { test } from "node:test"
import assert from "node:assert/strict"
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import {
    codeSpans,
    headingAnchors,
    relativeLinks,
    repoPaths,
} from "../../host/docs/links.ts"
import { repoRoot } from "../../host/docs/generate.ts"

/** README.md, CONTRIBUTING.md and every Markdown file under docs/. */
function docFiles(): string[] {
    const out = ["README.md", "CONTRIBUTING.md"]
    const walk = (dir: string) => {
        for (const e of readdirSync(join(repoRoot, dir), {
            withFileTypes: true,
        })) {
            const p = `${dir}/${e.name}`
            if (e.isDirectory()) walk(p)
            else if (e.name.endsWith(".md")) out.push(p)
        }
    }
    walk("docs")
    return out
}

/** Whether `path` (from the root; `*` matches within one name) exists. */
function pathExists(path: string): boolean {
    const parts = path.replace(/\/$/, "").split("/")
    let found = [repoRoot]
    for (const part of parts) {
        const re = new RegExp(
            "^" +
                part.replace(/[.+?^()|[\]\\]/g, "\\$&").replace(/\*/g, ".*") +
                "$"
        )
        found = found.flatMap(dir => {
            if (!part.includes("*"))
                return existsSync(join(dir, part)) ? [join(dir, part)] : []
            if (!statSync(dir).isDirectory()) return []
            return readdirSync(dir)
                .filter(n => re.test(n))
                .map(n => join(dir, n))
        })
    }
    return found.length > 0
}

const read = (f: string) => readFileSync(join(repoRoot, f), "utf8")

test("the rules: what counts as a link, a repository path and an anchor", () => {
    const md = [
        "# Fleet updates (OTA)",
        "## Run it, step by step",
        "## Run it, step by step",
        "See [the guide](guides/x.md#a-b), [top](#fleet-updates-ota), [web](https://example.com).",
        "Files: `src/main.ts`, `host/fleet/*.ts`, `state/fleet/fleet.db`, `boards/<id>.board.json`,",
        "`npm run fleet -- status`, ``host/a.ts``.",
        "```sh",
        "cat src/not-checked.ts `host/not-checked.ts` [x](not-checked.md)",
        "```",
    ].join("\n")
    assert.deepEqual(relativeLinks(md), [
        { file: "guides/x.md", anchor: "a-b" },
        { file: "", anchor: "fleet-updates-ota" },
    ])
    assert.deepEqual(repoPaths(md), [
        "src/main.ts",
        "host/fleet/*.ts",
        "host/a.ts",
    ])
    assert.ok(codeSpans(md).includes("state/fleet/fleet.db"))
    assert.deepEqual(
        [...headingAnchors(md)],
        ["fleet-updates-ota", "run-it-step-by-step", "run-it-step-by-step-1"]
    )
})

test("every relative link names an existing file and heading", () => {
    const broken: string[] = []
    let checked = 0
    for (const f of docFiles()) {
        for (const link of relativeLinks(read(f))) {
            checked++
            const target = link.file
                ? resolve(repoRoot, dirname(f), link.file)
                : join(repoRoot, f)
            const shown = `${f}: (${link.file}${link.anchor ? "#" + link.anchor : ""})`
            if (relative(repoRoot, target).startsWith("..")) {
                broken.push(`${shown} leaves the repository`)
                continue
            }
            if (!existsSync(target)) {
                broken.push(`${shown}: no such file`)
                continue
            }
            if (link.anchor && target.endsWith(".md")) {
                const anchors = headingAnchors(readFileSync(target, "utf8"))
                if (!anchors.has(link.anchor))
                    broken.push(`${shown}: no such heading`)
            }
        }
    }
    assert.deepEqual(broken, [])
    assert.ok(checked > 0, "no links found: the docs were not read")
})

test("every backticked repository path exists", () => {
    const missing: string[] = []
    let checked = 0
    for (const f of docFiles())
        for (const p of repoPaths(read(f))) {
            checked++
            if (!pathExists(p)) missing.push(`${f}: ${p}`)
        }
    assert.deepEqual(missing, [])
    assert.ok(checked > 0, "no paths found: the docs were not read")
})

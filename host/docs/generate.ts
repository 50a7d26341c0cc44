/**
 * `npm run docs [-- --check]`: writes the generated reference pages,
 * `docs/reference/settings.md` (from `src/settings-schema.ts`) and
 * `docs/reference/cli.md` (from each CLI's usage). With `--check` it writes
 * nothing and exits 1 when a page on disk differs from what it would write.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { CLI_PAGE, cliPage, cliSources, usageOf } from "./cli-page.ts"
import { SETTINGS_PAGE, settingsPage } from "./settings-page.ts"
import { DOCS_COMMAND } from "./command.ts"
import { readCommandLine } from "../lib/args.ts"

/** The repository's root. */
export const repoRoot = fileURLToPath(new URL("../..", import.meta.url))

/** Each generated page: its path from the root and its text. */
export async function generatedPages(
    root = repoRoot
): Promise<{ path: string; text: string }[]> {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))
    const sources = cliSources(pkg.scripts)
    const sections = []
    for (const source of sources)
        sections.push({ source, usage: await usageOf(root, source) })
    return [
        { path: SETTINGS_PAGE, text: settingsPage() },
        { path: CLI_PAGE, text: cliPage(sections) },
    ]
}

/** The text of `path` on disk, or undefined when it is missing. */
function onDisk(root: string, path: string): string | undefined {
    try {
        return readFileSync(join(root, path), "utf8")
    } catch {
        return undefined
    }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
    const o = readCommandLine(DOCS_COMMAND, "docs").values
    let stale = 0
    for (const p of await generatedPages()) {
        if (onDisk(repoRoot, p.path) === p.text) continue
        if (o.check) {
            console.error(`docs: ${p.path} is out of date: run npm run docs`)
            stale++
        } else {
            writeFileSync(join(repoRoot, p.path), p.text)
            console.log(`docs: wrote ${p.path}`)
        }
    }
    if (stale) process.exit(1)
}

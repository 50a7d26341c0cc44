/**
 * `npm run docs [-- --check]`: writes the generated reference pages,
 * `docs/reference/settings.md` (from `src/settings-schema.ts`) and
 * `docs/reference/cli.md` (from each CLI's usage). With `--check` it writes
 * nothing and exits 1 when a page on disk differs from what it would write.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { CLI_PAGE, cliPage, cliSources, usageOf } from "./cli-page.ts"
import { SETTINGS_PAGE, settingsPage } from "./settings-page.ts"

/** The repository's root. */
export const repoRoot = fileURLToPath(new URL("../..", import.meta.url))

/** Each generated page: its path from the root and its text. */
export function generatedPages(
    root = repoRoot
): { path: string; text: string }[] {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))
    const sections = cliSources(pkg.scripts).map(source => ({
        source,
        usage: usageOf(root, source),
    }))
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
    const { values: o } = parseArgs({
        options: {
            check: { type: "boolean", default: false },
            help: { type: "boolean", default: false },
        },
    })
    if (o.help) {
        console.log(`usage: npm run docs [-- --check]
  writes docs/reference/settings.md (from src/settings-schema.ts) and
  docs/reference/cli.md (from each CLI's usage text)
  --check   write nothing; exit 1 when a page is out of date`)
    } else {
        let stale = 0
        for (const p of generatedPages()) {
            if (onDisk(repoRoot, p.path) === p.text) continue
            if (o.check) {
                console.error(
                    `docs: ${p.path} is out of date: run npm run docs`
                )
                stale++
            } else {
                writeFileSync(join(repoRoot, p.path), p.text)
                console.log(`docs: wrote ${p.path}`)
            }
        }
        if (stale) process.exit(1)
    }
}

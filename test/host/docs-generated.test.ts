/**
 * The generated reference pages are up to date: each is generated again in
 * memory (the settings page from src/settings-schema.ts, the CLI page from
 * each CLI's usage) and compared with the file. Stale means: run
 * `npm run docs`.
 */
import { test } from "node:test"
import assert from "node:assert/strict"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { generatedPages, repoRoot } from "../../host/docs/generate.ts"
import { cliSources, commentUsage } from "../../host/docs/cli-page.ts"
import { settingsPage } from "../../host/docs/settings-page.ts"
import { SETTINGS } from "../../src/settings-schema.ts"

test("each generated page matches the code it is generated from", async () => {
    const pages = await generatedPages()
    assert.deepEqual(
        pages.map(p => p.path),
        ["docs/reference/settings.md", "docs/reference/cli.md"]
    )
    for (const p of pages)
        assert.equal(
            readFileSync(join(repoRoot, p.path), "utf8"),
            p.text,
            `${p.path} is stale: run npm run docs`
        )
})

test("the settings page has a row for every setting, and refuses one without a note", () => {
    const page = settingsPage()
    for (const s of SETTINGS)
        assert.match(page, new RegExp(`^\\| \`${s.key}\` \\|`, "m"))
    assert.throws(
        () =>
            settingsPage([
                ...SETTINGS,
                { key: "NEW_KEY", kind: "int", writer: "user" },
            ]),
        /no note for setting NEW_KEY/
    )
})

test("every tsx script of package.json is a CLI of the page", () => {
    const sources = cliSources({
        start: "tsx host/start/cli.ts",
        flash: "tsx host/provision/flash.ts",
        build: "devicescript build src/main.ts",
    })
    assert.deepEqual(sources, [
        { command: "npm start", file: "host/start/cli.ts", from: "table" },
        {
            command: "npm run flash",
            file: "host/provision/flash.ts",
            from: "comment",
        },
    ])
    assert.equal(
        commentUsage("/**\n * `npm x`\n *\n *   a  b\n */\ncode"),
        "\n`npm x`\n\n  a  b\n "
    )
})

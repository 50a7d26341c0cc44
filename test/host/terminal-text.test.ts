// Text from peers printed on a terminal (the service log, `fleet log`):
// controls and bidirectional overrides are escaped, everything else kept.
import { test } from "node:test"
import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { PassThrough } from "node:stream"
import { prepareStateDir } from "../../host/fleet/service/state-dir.ts"
import { SqliteStore } from "../../host/fleet/store/sqlite.ts"
import { serviceLog } from "../../host/lib/service-log.ts"
import { terminalSafe } from "../../host/lib/terminal-text.ts"

test("C0, DEL and C1 controls, bidi embeddings, overrides, isolates and marks are escaped", () => {
    assert.equal(terminalSafe("\x1b]0;pwned\x07"), "\\u001B]0;pwned\\u0007")
    assert.equal(
        terminalSafe("a\nb\r\tc\0"),
        "a\\u000Ab\\u000D\\u0009c\\u0000"
    )
    assert.equal(terminalSafe("\x7f\x80\x9b2J"), "\\u007F\\u0080\\u009B2J")
    assert.equal(
        terminalSafe("v1\u202egpj.exe\u202c"),
        "v1\\u202Egpj.exe\\u202C"
    )
    for (const c of [
        0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069,
        0x200e, 0x200f, 0x061c,
    ])
        assert.equal(
            terminalSafe(String.fromCharCode(c)),
            `\\u${c.toString(16).toUpperCase().padStart(4, "0")}`
        )
})

test("every other character is kept; a backslash is doubled, so an escape always means one was made", () => {
    const plain = "d1: deployed v2 (0a1b2c) – ok ✓ 设备 é"
    assert.equal(terminalSafe(plain), plain)
    assert.equal(terminalSafe("C:\\u001B"), "C:\\\\u001B")
    // nothing unsafe is left, for every code unit below U+3000
    let all = ""
    for (let c = 0; c < 0x3000; c++) all += String.fromCharCode(c)
    assert.doesNotMatch(
        terminalSafe(all),
        /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/
    )
})

test("the service log writes device text escaped, one line per call", () => {
    const out = new PassThrough()
    let text = ""
    out.on("data", d => (text += d))
    const log = serviceLog(out as unknown as NodeJS.WriteStream)
    log("d1: crashed \x1b[2J\nforged 2026-01-01T00:00:00.000Z line \u202e")
    assert.match(text, /^\S+ d1: crashed \\u001B\[2J\\u000Aforged .* line \\u202E\n$/)
})

test("`fleet log` prints device text escaped", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fleet-log-text-"))
    try {
        const state = join(dir, "state")
        prepareStateDir(state)
        const store = new SqliteStore(join(state, "fleet.db"))
        await store.logEvent(
            "d1",
            "crashed",
            "boom\x1b]0;owned\x07\u202etxt.exe"
        )
        await store.close()
        const r = spawnSync(
            process.execPath,
            ["--import", "tsx", "host/fleet/cli.ts", "log", "--state", state],
            { encoding: "utf8", timeout: 60_000 }
        )
        assert.equal(r.status, 0, r.stderr)
        assert.match(
            r.stdout,
            /d1 crashed boom\\u001B\]0;owned\\u0007\\u202Etxt\.exe\n/
        )
        assert.doesNotMatch(r.stdout, /[\x1b\x07\u202e]/)
    } finally {
        rmSync(dir, { recursive: true, force: true })
    }
})

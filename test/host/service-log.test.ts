/**
 * A service whose log reader goes away (`fleet serve | tee`, and tee dies)
 * goes on serving: its log lines are dropped, and the broken pipe does not
 * turn the last-resort handler into a loop (it once logged its own EPIPE,
 * which raised another, at 100 % CPU).
 */
import { test } from "node:test"
import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import { once } from "node:events"
import { join } from "node:path"

const MODULE = join(import.meta.dirname, "../../host/lib/service-log.ts")

/** Logs "ready", and once told that its reader left, logs and throws. */
const SERVICE = `
import { keepServing, serviceLog } from ${JSON.stringify(MODULE)}
let lines = 0
const log = serviceLog()
keepServing(l => { lines++; log(l) })
process.stdin.once("data", () => {
    setTimeout(() => log("a line after the reader left"), 20)
    setTimeout(() => log("another"), 100)
    setTimeout(() => { throw new Error("boom") }, 150)
    setTimeout(() => {
        process.stderr.write("handled " + lines + "\\n")
        process.exit(0)
    }, 1000)
})
log("ready")
`

test("a closed log pipe: lines are dropped, one unexpected error is logged once, the process goes on", async () => {
    const child = spawn(
        process.execPath,
        ["--import", "tsx", "--input-type=module", "-e", SERVICE],
        { stdio: ["pipe", "pipe", "pipe"] }
    )
    let err = ""
    child.stderr.on("data", d => (err += d))
    const [first] = await once(child.stdout, "data")
    assert.match(String(first), /ready/)
    child.stdout.destroy()
    child.stdin.write("go\n")
    const [code] = await once(child, "exit")
    assert.equal(code, 0, err)
    assert.match(err, /^handled 1$/m)
})

/**
 * The fleet guide's "Try it in the simulator", run as a user types it:
 * every `npm ...` line of the section's command blocks (read from the
 * guide itself, so the two cannot drift apart), each as its own process
 * and in order. The only changes are where a run must not touch the
 * user's own state: temporary directories by flag (`--state`,
 * `--fleet-state`, `--out` and the paths that follow it), a temporary key
 * directory (`XDG_CONFIG_HOME`), a free port for the service (`--port 0`)
 * and a device ID of its own (so its flash file is not the user's).
 *
 * Checks: the simulated device reports v1.0.0, then v2.0.0 after the
 * assignment, then v1.0.0 again after the rollback; readings keep being
 * accepted after each change; one `/auth` in the whole run.
 */
import { after, before, test } from "node:test"
import assert from "node:assert/strict"
import { spawn, type ChildProcess } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { projectRoot } from "../../host/lib/devs.ts"
import { SIM_TURN_WAIT_MS } from "../../host/sim/index.ts"

/** Each update waits for the device's check-in (~32 s) and a restart. */
const UPDATE_MS = 240_000
/** npm start may wait its turn at the simulator first, then boots and updates. */
const START_MS = SIM_TURN_WAIT_MS + UPDATE_MS

/** The guide whose commands this test runs. */
const GUIDE = "docs/guides/fleet-updates.md"

/** The npm commands of the guide's section, in order, comments removed. */
function guideCommands(guide: string): string[] {
    const start = guide.indexOf("\n## Try it in the simulator\n")
    const end = guide.indexOf("\n## ", start + 1)
    assert.ok(start >= 0 && end > start, `section not found in ${GUIDE}`)
    const blocks = guide.slice(start, end).split("```sh\n").slice(1)
    return blocks.flatMap(b =>
        b
            .split("```")[0]
            .split("\n")
            .map(l => l.replace(/\s+#.*$/, "").trim())
            .filter(l => l.startsWith("npm "))
    )
}

let tmp: string
const id = `e2e-ota-${process.pid}`
const env = () => ({ ...process.env, XDG_CONFIG_HOME: join(tmp, "config") })
/** Processes still running (service, npm start), by process group. */
const running: ChildProcess[] = []

/** The guide's line with this run's directories, port and device ID. */
function forThisRun(line: string): string[] {
    const state = join(tmp, "fleet")
    let words = line
        .replace(/\bsim1\b/g, id)
        .replace(/state\/releases\//g, `${tmp}/releases/`)
        .split(/\s+/)
    assert.equal(words[0], "npm")
    if (words[2] === "fleet") {
        if (words[4] === "serve") {
            const p = words.indexOf("--port")
            words[p + 1] = "0"
        }
        if (words[4] !== "keygen") words.push("--state", state)
    } else if (words[2] === "release")
        words.push("--out", `${tmp}/releases/${words[4]}.devs`)
    else if (words[1] === "start") words.push("--fleet-state", state)
    return words
}

/** A process's output lines, and a way to wait for one. */
function watch(child: ChildProcess, name: string) {
    const lines: string[] = []
    const waiters = new Set<() => void>()
    const onLine = (l: string) => {
        lines.push(l)
        if (process.env.E2E_ECHO) console.log(`[${name}] ${l}`)
        for (const w of [...waiters]) w()
    }
    createInterface({ input: child.stdout! }).on("line", onLine)
    createInterface({ input: child.stderr! }).on("line", onLine)
    let code: number | null | undefined
    const exited = new Promise<number | null>(r =>
        child.on("exit", c => {
            code = c
            r(c)
            for (const w of [...waiters]) w()
        })
    )
    /** Index of the first line at or after `from` matching `re`. */
    const waitFor = (re: RegExp, from: number, ms: number) =>
        new Promise<number>((resolve, reject) => {
            const check = () => {
                const i = lines.findIndex((l, k) => k >= from && re.test(l))
                if (i >= 0) done(() => resolve(i))
                else if (code !== undefined)
                    done(() =>
                        reject(
                            new Error(
                                `${name} exited (${code}) before ${re}:\n${lines.slice(-40).join("\n")}`
                            )
                        )
                    )
            }
            const done = (f: () => void) => {
                clearTimeout(timer)
                waiters.delete(check)
                f()
            }
            const timer = setTimeout(
                () =>
                    done(() =>
                        reject(
                            new Error(
                                `${name}: no line ${re} within ${ms} ms:\n${lines.slice(-40).join("\n")}`
                            )
                        )
                    ),
                ms
            )
            waiters.add(check)
            check()
        })
    return { lines, exited, waitFor }
}

function spawnLine(line: string) {
    const words = forThisRun(line)
    const child = spawn(words[0], words.slice(1), {
        cwd: projectRoot,
        env: env(),
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
    })
    return { child, out: watch(child, words.slice(0, 5).join(" ")) }
}

/** Runs a guide line to its end; fails on a non-zero exit. */
async function run(line: string) {
    const { out } = spawnLine(line)
    const code = await out.exited
    assert.equal(code, 0, `${line} exited ${code}:\n${out.lines.join("\n")}`)
    return out.lines
}

/** Starts a long-running guide line and waits for `ready`. */
async function start(line: string, ready: RegExp, ms: number) {
    const { child, out } = spawnLine(line)
    running.push(child)
    await out.waitFor(ready, 0, ms)
    return out
}

let commands: string[]
let device: ReturnType<typeof watch>

before(() => {
    tmp = mkdtempSync(join(tmpdir(), "fleet-ota-e2e-"))
    commands = guideCommands(readFileSync(join(projectRoot, GUIDE), "utf8"))
})

after(async () => {
    for (const c of running.reverse()) {
        if (c.exitCode !== null || c.signalCode !== null) continue
        const gone = new Promise(r => c.once("exit", r))
        try {
            process.kill(-c.pid!, "SIGINT")
        } catch {}
        const t = setTimeout(() => {
            try {
                process.kill(-c.pid!, "SIGKILL")
            } catch {}
        }, 15_000)
        await gone
        clearTimeout(t)
    }
    rmSync(tmp, { recursive: true, force: true })
    rmSync(join(projectRoot, `state/sim/fleet-${id}.bin`), { force: true })
})

/** Lines of the guide, one at a time, in order. */
let next = 0
function line(re: RegExp) {
    const l = commands[next++]
    assert.match(l ?? "", re, `${GUIDE} command ${next}`)
    return l
}

/** Accepted-reading lines of npm start from `from` on. */
const readingsSince = (from: number) =>
    device.lines.slice(from).filter(l => /^accepted #\d+ /.test(l)).length

test("the fleet guide's commands: service, device, v1.0.0 on the simulated device", async () => {
    await run(line(/fleet -- keygen$/))
    await start(line(/fleet -- serve/), /fleet service on ws:/, 60_000)
    await run(line(/fleet -- add-device sim1$/))
    await run(line(/release -- 1\.0\.0$/))
    await run(line(/fleet -- publish .*1\.0\.0\.devs v1\.0\.0$/))
    await run(line(/fleet -- assign v1\.0\.0 all$/))
    device = await start(
        line(/^npm start -- --fleet sim1$/),
        /^fleet: .* connected to the fleet service/,
        START_MS
    )
    const at = await device.waitFor(/^version: v1\.0\.0$/, 0, UPDATE_MS)
    await device.waitFor(/^accepted #\d+ /, at, 60_000)
})

test("release 2.0.0, publish, assign: the device reports v2.0.0 and keeps reporting", async () => {
    await run(line(/release -- 2\.0\.0$/))
    await run(line(/fleet -- publish .*2\.0\.0\.devs v2\.0\.0$/))
    const from = device.lines.length
    await run(line(/fleet -- assign v2\.0\.0 device:sim1$/))
    const at = await device.waitFor(/^version: v2\.0\.0$/, from, UPDATE_MS)
    await device.waitFor(/^accepted #\d+ /, at, 60_000)
    assert.ok(readingsSince(from) >= 1)
})

test("rollback: the device reports v1.0.0 again and keeps reporting, with one /auth in the whole run", async () => {
    const from = device.lines.length
    await run(line(/fleet -- rollback$/))
    const at = await device.waitFor(/^version: v1\.0\.0$/, from, UPDATE_MS)
    await device.waitFor(/^accepted #\d+ /, at, 60_000)
    assert.equal(next, commands.length, "every command of the guide ran")
    const versions = device.lines.filter(l => /^version: /.test(l))
    assert.deepEqual(versions.slice(-3), [
        "version: v1.0.0",
        "version: v2.0.0",
        "version: v1.0.0",
    ])
    const auths = device.lines.filter(l => /^device: auth: ok/.test(l))
    assert.equal(auths.length, 1, device.lines.join("\n"))
})

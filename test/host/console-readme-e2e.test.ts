// The console guide's "Watch a demo fleet", run as a user types it: its
// two `npm` lines (read from the guide), each as its own process. Changes, so that
// a run touches none of the user's state or ports: a temporary state
// directory, free ports, 4 devices, and a quicker schedule (check-ins and
// readings every second, the rollout after 3 s, widened 4 s later). In
// chromium: every device reaches v2.0.0 and their readings arrive.
import { after, before, test } from "node:test"
import assert from "node:assert/strict"
import { spawn, spawnSync, type ChildProcess } from "node:child_process"
import {
    mkdirSync,
    mkdtempSync,
    readFileSync,
    rmSync,
    writeFileSync,
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import type { Page } from "puppeteer-core"
import { launchBrowser, recordErrors, screenshot } from "./console-browser.ts"

/** The guide whose commands this test runs. */
const GUIDE = "docs/guides/console.md"

/** The npm lines of the guide's section, comments removed. */
function guideCommands(): string[] {
    const guide = readFileSync(GUIDE, "utf8")
    const start = guide.indexOf("\n## Watch a demo fleet\n")
    const end = guide.indexOf("\n## ", start + 1)
    assert.ok(start >= 0 && end > start, `section not found in ${GUIDE}`)
    return guide
        .slice(start, end)
        .split("```sh\n")[1]
        .split("```")[0]
        .split("\n")
        .map(l => l.replace(/\s+#.*$/, "").trim())
        .filter(l => l.startsWith("npm "))
}

let tmp: string
const running: ChildProcess[] = []
let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined

/** Starts `npm run ...` (its own process group) and resolves with the first line matching `re`. */
function start(words: string[], re: RegExp, ms = 120_000) {
    const child = spawn(words[0], words.slice(1), {
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
    })
    running.push(child)
    const lines: string[] = []
    return new Promise<{ line: string; lines: string[] }>((resolve, reject) => {
        const timer = setTimeout(
            () =>
                reject(
                    new Error(`no ${re} within ${ms} ms:\n${lines.join("\n")}`)
                ),
            ms
        )
        const on = (l: string) => {
            lines.push(l)
            if (re.test(l)) {
                clearTimeout(timer)
                resolve({ line: l, lines })
            }
        }
        createInterface({ input: child.stdout! }).on("line", on)
        createInterface({ input: child.stderr! }).on("line", on)
        child.on("exit", code => {
            clearTimeout(timer)
            reject(
                new Error(
                    `${words.join(" ")} exited ${code}:\n${lines.join("\n")}`
                )
            )
        })
    })
}

before(() => {
    tmp = mkdtempSync(join(tmpdir(), "console-readme-"))
})

after(async () => {
    await browser?.close()
    // each command ran in a process group of its own (npm, sh, node): end the whole group
    const alive = (pid: number) => {
        try {
            process.kill(-pid, 0)
            return true
        } catch {
            return false
        }
    }
    for (const c of running.reverse()) {
        const pid = c.pid!
        if (!alive(pid)) continue
        process.kill(-pid, "SIGTERM")
        const t0 = Date.now()
        while (alive(pid) && Date.now() - t0 < 10_000)
            await new Promise(r => setTimeout(r, 100))
        if (alive(pid)) process.kill(-pid, "SIGKILL")
    }
    rmSync(tmp, { recursive: true, force: true })
})

test("the console guide's two commands: in the browser every device updates to v2.0.0 and its readings arrive", async () => {
    const [demoLine, consoleLine, ...rest] = guideCommands()
    assert.equal(rest.length, 0)
    assert.match(demoLine, /^npm run fleet-demo$/)
    const state = join(tmp, "demo")
    const demo = await start(
        [
            ...demoLine.split(/\s+/),
            "--",
            "--state",
            state,
            "--platform-port",
            "0",
            "--fleet-port",
            "0",
            "--devices",
            "4",
            "--check-in",
            "1",
            "--period",
            "1",
            "--rollout-after",
            "3",
            "--widen-after",
            "4",
        ],
        /^\s+npm run console -- /
    )
    // the guide's console line is what the demo prints, with its defaults
    const admin = /admin (http:\/\/127\.0\.0\.1:\d+)/.exec(
        demo.lines.join("\n")
    )![1]
    const printed = demo.line.trim()
    assert.equal(
        consoleLine
            .replaceAll("state/demo", state)
            .replace("http://127.0.0.1:8444", admin),
        printed
    )
    const con = await start(
        [...printed.split(/\s+/), "--port", "0"],
        /^\s+http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{48}$/
    )
    browser = await launchBrowser()
    const page: Page = await browser.browser.newPage()
    await page.setViewport({ width: 1400, height: 900 })
    const errors = recordErrors(page)
    await page.goto(con.line.trim())
    const until = (fn: string, timeout = 90_000) =>
        page.waitForFunction(fn, { timeout, polling: 100 })
    await until(
        `document.querySelectorAll("#devices tbody tr[data-device]").length === 4`
    )
    // the canary: rollout 2 to 25% of the fleet, one device on v2.0.0
    await until(
        `document.querySelector('tr[data-rollout="2"]')?.dataset.done === "true"`
    )
    await screenshot(page, "readme-fleet-canary")
    await until(
        `[...document.querySelectorAll("#devices tbody tr")].every(r => r.dataset.current === "v2.0.0")`
    )
    await until(
        `document.querySelector('tr[data-rollout="2"] .bar')?.dataset.updated === "4"`
    )
    await screenshot(page, "readme-fleet-updated")
    // readings: every device's temperature chart fills, and keeps growing
    await page.goto(con.line.trim() + "#readings")
    await until(
        `document.querySelectorAll('.chart[data-field="temperature"]').length === 4`
    )
    const n = await page.$eval('.chart[data-field="temperature"]', el =>
        Number(el.getAttribute("data-points"))
    )
    await until(
        `Number(document.querySelector('.chart[data-field="temperature"]').dataset.points) >= ${n + 2}`
    )
    // each device reported v2.0.0 after its update: a marker
    await until(
        `[...document.querySelectorAll(".device-card .legend")].every(l => /version v2\\.0\\.0/.test(l.textContent))`
    )
    await screenshot(page, "readme-readings")
    assert.deepEqual(errors, [])
})

test("the demo refuses to wipe a directory it did not make", () => {
    const mine = join(tmp, "someone-elses")
    mkdirSync(mine)
    writeFileSync(join(mine, "fleet.db"), "precious")
    const r = spawnSync(
        process.execPath,
        ["--import", "tsx", "host/demo/cli.ts", "--state", mine],
        { encoding: "utf8", timeout: 60_000 }
    )
    assert.equal(r.status, 1)
    assert.match(r.stderr, /is not empty and not a demo's/)
    assert.equal(readFileSync(join(mine, "fleet.db"), "utf8"), "precious")
})

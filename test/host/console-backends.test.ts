// The console on each fleet store backend, started as `npm run console --
// --db ...` starts it: SQLite (a file named with --db) and PostgreSQL (a
// private server started here; a failure to start fails the test). Another
// connection writes the fleet, as the service and the CLI do; the page in
// headless chromium shows its devices and its rollout, and notices a
// rollout added later.
import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import { spawn, type ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import pg from "pg"
import type { Page } from "puppeteer-core"
import { ArtifactStore, padImage } from "../../host/fleet/release/artifacts.ts"
import { assign } from "../../host/fleet/rollout/actions.ts"
import { parseScope } from "../../host/fleet/rollout/desired.ts"
import { prepareStateDir } from "../../host/fleet/service/state-dir.ts"
import { openFleetStore } from "../../host/fleet/store/open.ts"
import type { FleetStore } from "../../host/fleet/store/types.ts"
import { newDeviceKey } from "../../host/fleet/device/protocol.ts"
import {
    startLocalPostgres,
    type LocalPostgres,
} from "../../host/postgres/local-server.ts"
import { projectRoot } from "../../host/lib/devs.ts"
import { waitUntil } from "../../host/testkit/wait-until.ts"
import { launchBrowser, recordErrors } from "./console-browser.ts"
import { buildFleetApp, publishSigned, releaseKeys } from "./fleet-helpers.ts"

/** How long a wait may take (generous: the machine is shared). */
const WAIT_MS = 60_000
const IDS = ["lab-1", "lab-2", "field-1"]

let dir: string
let image: Buffer
let server: LocalPostgres | undefined
let browser: Awaited<ReturnType<typeof launchBrowser>>

before(async () => {
    dir = mkdtempSync(join(tmpdir(), "console-backends-"))
    image = padImage(await buildFleetApp("v1"))
    browser = await launchBrowser()
})
after(async () => {
    await browser?.close()
    await server?.stop({ remove: true })
    rmSync(dir, { recursive: true, force: true })
})

/** A fresh, empty PostgreSQL database on the test server; its URL. */
async function freshPgDatabase(name: string): Promise<string> {
    server ??= await startLocalPostgres({ unsafeFast: true })
    const c = new pg.Client({ connectionString: server.url })
    await c.connect()
    await c.query(`CREATE DATABASE ${name}`)
    await c.end()
    return server.url.replace(/\/[^/]*$/, `/${name}`)
}

/** `npm run console -- --state DIR --db DB --port 0` as its own process; its URL. */
async function startConsoleProcess(
    state: string,
    db: string,
    keyFile: string
): Promise<{ url: string; child: ChildProcess; output: () => string }> {
    const child = spawn(
        process.execPath,
        [
            "--import",
            "tsx",
            "host/console/cli.ts",
            "--state",
            state,
            "--db",
            db,
            "--port",
            "0",
            "--release-key",
            keyFile,
        ],
        { cwd: projectRoot, stdio: ["ignore", "pipe", "pipe"] }
    )
    let out = ""
    child.stdout!.on("data", d => (out += d))
    child.stderr!.on("data", d => (out += d))
    const url = /http:\/\/127\.0\.0\.1:\d+\/\?token=\S+/
    await waitUntil(
        () => url.test(out) || child.exitCode !== null,
        WAIT_MS,
        "the console's URL"
    )
    assert.match(out, url, `the console did not start:\n${out}`)
    return { url: url.exec(out)![0], child, output: () => out }
}

/** Waits (generously: the machine is shared) until `fn` is true in the page. */
async function until(page: Page, fn: string) {
    try {
        await page.waitForFunction(fn, { timeout: WAIT_MS, polling: 100 })
    } catch (e) {
        const shown = await page
            .$eval("main", el => (el as HTMLElement).innerText)
            .catch(() => "?")
        throw new Error(
            `not within ${WAIT_MS} ms: ${fn}\n${(e as Error).message}\npage shows:\n${shown.slice(0, 3000)}`
        )
    }
}

const backends: { name: string; db: (state: string) => Promise<string> }[] = [
    { name: "SQLite", db: async state => join(state, "elsewhere.db") },
    { name: "PostgreSQL", db: () => freshPgDatabase("console1") },
]

for (const backend of backends)
    test(`the console shows a fleet kept in ${backend.name}: its devices, its rollout, and a rollout added later`, async () => {
        const state = join(dir, backend.name)
        prepareStateDir(state)
        const keyFile = join(dir, "release-key.pub")
        writeFileSync(keyFile, releaseKeys.publicPem)
        const db = await backend.db(state)
        // the writer: another connection, as the service and the CLI have
        const store: FleetStore = await openFleetStore(db)
        let consoleRun:
            Awaited<ReturnType<typeof startConsoleProcess>> | undefined
        const page = await browser.browser.newPage()
        const errors = recordErrors(page)
        try {
            for (const id of IDS)
                await store.upsertDevice({
                    id,
                    key: newDeviceKey().toString("hex"),
                    groups: [id.split("-")[0]],
                    platformId: "",
                    createdAt: Date.now(),
                })
            const artifacts = new ArtifactStore(join(state, "artifacts"))
            const v1 = await publishSigned(store, artifacts, "v1.0.0", image)
            await assign(store, "v1.0.0", { kind: "all" })
            await store.updateState("lab-1", { currentHash: v1.hash })

            consoleRun = await startConsoleProcess(state, db, keyFile)
            await page.goto(consoleRun.url)
            await until(
                page,
                `document.querySelectorAll("#devices tbody tr[data-device]").length === ${IDS.length}`
            )
            const shown = await page.$$eval(
                "#devices tbody tr[data-device]",
                rows =>
                    rows.map(r => [
                        r.getAttribute("data-device"),
                        r.getAttribute("data-current"),
                    ])
            )
            assert.deepEqual(
                new Map(shown.map(([id, current]) => [id, current])),
                new Map([
                    ["lab-1", "v1.0.0"],
                    ["lab-2", "?"],
                    ["field-1", "?"],
                ])
            )
            await until(
                page,
                `!!document.querySelector('tr[data-rollout="1"]')`
            )
            assert.match(
                await page.$eval(
                    'tr[data-rollout="1"]',
                    el => (el as HTMLElement).innerText
                ),
                /v1\.0\.0\s+all/
            )

            // a change committed by the other connection reaches the page
            await assign(store, "v1.0.0", parseScope("group:lab"))
            await until(
                page,
                `!!document.querySelector('tr[data-rollout="2"]')`
            )
            assert.match(
                await page.$eval(
                    'tr[data-rollout="2"]',
                    el => (el as HTMLElement).innerText
                ),
                /v1\.0\.0\s+group:lab/
            )
            assert.deepEqual(errors, [], "the page logged errors")
            assert.doesNotMatch(
                consoleRun.output(),
                /poll failed/,
                "the console read its store without an error"
            )
        } finally {
            await page.close()
            if (consoleRun && consoleRun.child.exitCode === null) {
                const exited = new Promise(r =>
                    consoleRun!.child.once("exit", r)
                )
                consoleRun.child.kill("SIGTERM")
                await exited
            }
            await store.close()
        }
    })

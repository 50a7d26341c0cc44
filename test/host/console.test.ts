// The web console in headless chromium, against a real fleet service with
// protocol-level devices and the platform emulator (no DeviceScript
// simulator): the token, devices updating under a rollout started and
// widened from the page (each action confirmed), live readings charts, the
// device page. Each test leaves a screenshot in state/console/.
import { test, before, after, afterEach } from "node:test"
import assert from "node:assert/strict"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer, request } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Page } from "puppeteer-core"
import { buildFirmware } from "../../host/lib/build.ts"
import { ArtifactStore, padImage } from "../../host/fleet/release/artifacts.ts"
import { controlSocketPath } from "../../host/fleet/service/control.ts"
import { FakeDevice } from "../../host/testkit/fake-device.ts"
import { newDeviceKey } from "../../host/fleet/device/protocol.ts"
import { assign } from "../../host/fleet/rollout/actions.ts"
import {
    startFleetService,
    type FleetService,
} from "../../host/fleet/service/service.ts"
import { prepareStateDir } from "../../host/fleet/service/state-dir.ts"
import { SqliteStore } from "../../host/fleet/store/sqlite.ts"
import { startPlatform, type Platform } from "../../host/platform/index.ts"
import { startConsole, type ConsoleServer } from "../../host/console/index.ts"
import { simMembers, type SimMember } from "../../host/demo/sim-member.ts"
import { launchBrowser, recordErrors, screenshot } from "./console-browser.ts"
import { postAuth } from "../../host/testkit/platform-client.ts"
import { waitUntil } from "../../host/testkit/wait-until.ts"
import { publishSigned, releaseKeys } from "./fleet-helpers.ts"

const PK = "a1Console01"
const IDS = ["dev-0", "dev-1", "dev-2", "dev-3", "dev-4", "dev-5"]
const secret = (id: string) => `s3cret-${id}-0123456789abcdef0123`.slice(0, 32)

let dir: string
let platform: Platform
let store: SqliteStore
let consoleStore: SqliteStore
let svc: FleetService
let con: ConsoleServer
let members: SimMember[]
let browser: Awaited<ReturnType<typeof launchBrowser>>
let page: Page
let errors: string[]
let v2hash: string

before(async () => {
    dir = mkdtempSync(join(tmpdir(), "console-test-"))
    const [v1, v2] = [
        padImage(await buildFirmware("test/fixtures/fleet-app-v1.ts")),
        padImage(await buildFirmware("test/fixtures/fleet-app-v2.ts")),
    ]
    platform = await startPlatform({
        stateDir: join(dir, "platform"),
        devices: IDS.map(id => `${PK}/${id}/${secret(id)}`),
    })
    const state = join(dir, "fleet")
    prepareStateDir(state)
    store = new SqliteStore(join(state, "fleet.db"))
    const artifacts = new ArtifactStore(join(state, "artifacts"))
    IDS.forEach((id, i) =>
        store.upsertDevice({
            id,
            key: newDeviceKey().toString("hex"),
            groups: [i < 3 ? "lab" : "field"],
            platformId: `${PK}/${id}`,
            createdAt: Date.now(),
        })
    )
    await publishSigned(store, artifacts, "v1.0.0", v1)
    v2hash = (await publishSigned(store, artifacts, "v2.0.0", v2)).hash
    await assign(store, "v1.0.0", { kind: "all" })
    svc = await startFleetService({
        store,
        artifacts,
        releaseKey: releaseKeys.publicKey,
        holdMs: 50,
        controlSocket: controlSocketPath(state),
    })
    const versionNames = new Map(
        (await store.versions()).map(v => [v.hash, v.name])
    )
    members = await simMembers({
        ids: IDS,
        service: svc,
        program: v1,
        target: { port: platform.port, ca: platform.ca },
        productKey: PK,
        secretOf: secret,
        versionOf: h => versionNames.get(h),
    })
    // the console opens the database on its own, as `npm run console` does
    consoleStore = new SqliteStore(join(state, "fleet.db"))
    con = await startConsole({
        store: consoleStore,
        artifacts: new ArtifactStore(join(state, "artifacts")),
        releaseKey: releaseKeys.publicKey,
        controlSocket: controlSocketPath(state),
        platformAdmin: platform.adminUrl,
        pollMs: 200,
    })
    browser = await launchBrowser()
    page = await browser.browser.newPage()
    await page.setViewport({ width: 1400, height: 900 })
    errors = recordErrors(page)
})

after(async () => {
    await browser?.close()
    await con?.close()
    await svc?.close()
    await platform?.close()
    await consoleStore?.close()
    await store?.close()
    rmSync(dir, { recursive: true, force: true })
})

afterEach(() => {
    assert.deepEqual(errors, [], "the page logged errors")
})

const base = () => `http://127.0.0.1:${con.port}`
/** Waits (generously: the machine is shared) until `fn` is true in the page. */
async function until(fn: string, timeout = 30_000) {
    try {
        await page.waitForFunction(fn, { timeout, polling: 100 })
    } catch (e) {
        const shown = await page
            .$eval("main", el => (el as HTMLElement).innerText)
            .catch(() => "?")
        throw new Error(
            `not within ${timeout} ms: ${fn}\n${(e as Error).message}\npage shows:\n${shown.slice(0, 3000)}`
        )
    }
}
/**
 * Clicks `selector` in a table the live snapshots redraw: each snapshot
 * replaces every row, so the element found may be gone before the click
 * lands (puppeteer: "Node is either not clickable or not an Element"). A
 * user's click would land on the new row; this tries the new one again,
 * and fails as page.click does when no such element can be clicked.
 */
async function clickRow(selector: string, timeout = 30_000) {
    const deadline = Date.now() + timeout
    for (;;) {
        try {
            return await page.click(selector)
        } catch (e) {
            const detached = /not clickable or not an Element/.test(
                (e as Error).message
            )
            if (!detached || Date.now() > deadline) throw e
        }
    }
}
const bar = (id: number) =>
    page.$eval(`tr[data-rollout="${id}"] .bar`, el => ({
        updated: Number(el.getAttribute("data-updated")),
        target: Number(el.getAttribute("data-target")),
        failed: Number(el.getAttribute("data-failed")),
    }))

test("the console needs its token: every request for state without it is refused; the token travels in a header, never a cookie; actions need it in the header", async () => {
    for (const path of ["/", "/api/fleet", "/api/readings", "/events"]) {
        assert.equal((await fetch(base() + path)).status, 401, path)
        assert.equal(
            (await fetch(`${base()}${path}?token=${"0".repeat(48)}`)).status,
            401,
            `${path} with a wrong token`
        )
    }
    // the scripts and styles are the same for everyone: public, on the console's own Host only
    for (const path of ["/static/app.js", "/static/uplot.esm.js"])
        assert.equal((await fetch(base() + path)).status, 200, path)
    // the page loads with the token in its URL, and sets no cookie
    const r = await fetch(con.url)
    assert.equal(r.status, 200)
    assert.equal(r.headers.get("set-cookie"), null)
    assert.match(r.headers.get("content-security-policy")!, /script-src 'self'/)
    assert.equal(
        (await fetch(`${base()}/api/fleet?token=${con.token}`)).status,
        401,
        "a query token opens the page, nothing else"
    )
    assert.equal(
        (
            await fetch(`${base()}/api/fleet`, {
                headers: { "X-Console-Token": con.token },
            })
        ).status,
        200
    )
    // a POST with a cookie changes nothing (a browser sends cookies to every port)
    const cookie = `devs_console_${con.port}=${con.token}`
    const json = { "Content-Type": "application/json" }
    const body = JSON.stringify({ version: "v2.0.0", scope: "all" })
    const n = (await store.rollouts()).length
    const viaCookie = await fetch(`${base()}/api/assign`, {
        method: "POST",
        headers: { ...json, cookie },
        body,
    })
    assert.equal(viaCookie.status, 403)
    const token = { "X-Console-Token": con.token }
    const plain = await fetch(`${base()}/api/assign`, {
        method: "POST",
        headers: { ...token, "Content-Type": "text/plain" },
        body,
    })
    assert.equal(plain.status, 415)
    const big = await fetch(`${base()}/api/assign`, {
        method: "POST",
        headers: { ...token, ...json },
        body: JSON.stringify({ x: "y".repeat(20_000) }),
    })
    assert.equal(big.status, 413)
    // fetch drops a Host header; node:http sends it as given
    const rebound = await new Promise<{ status: number }>((resolve, reject) =>
        request(
            `${base()}/api/assign`,
            {
                method: "POST",
                headers: {
                    ...token,
                    ...json,
                    Host: `evil.example:${con.port}`,
                },
            },
            res => {
                res.resume()
                resolve({ status: res.statusCode! })
            }
        )
            .on("error", reject)
            .end(body)
    )
    assert.equal(rebound.status, 403)
    assert.equal((await store.rollouts()).length, n, "no action went through")

    // in the browser: refused without the token
    const other = await browser.browser.createBrowserContext()
    const refusedPage = await other.newPage()
    const refused = await refusedPage.goto(base() + "/")
    assert.equal(refused!.status(), 401)
    assert.match(await refusedPage.content(), /needs its access token/)
    await screenshot(refusedPage, "token-refused")
    await other.close()
    // and loads with it, live
    const ok = await page.goto(con.url)
    assert.equal(ok!.status(), 200)
    await until(`document.getElementById("live").textContent === "live"`)
    await until(
        `document.querySelectorAll("#devices tbody tr[data-device]").length === ${IDS.length}`
    )
    await screenshot(page, "token-accepted")
})

test("the fleet view shows every device; a rollout started and widened from the page moves its bar from 0 to done as the devices update", async () => {
    await page.goto(con.url + "#fleet")
    for (const m of members) await m.checkIn() // all run v1.0.0
    await until(
        `[...document.querySelectorAll("#devices tbody tr")].filter(r => r.dataset.current === "v1.0.0").length === ${IDS.length}`
    )
    assert.equal(
        await page.$eval('tr[data-version="v2.0.0"]', el =>
            el.getAttribute("data-signature")
        ),
        "verified"
    )

    // an action needs its confirmation: cancelled, nothing happens
    await page.select("#assign-version", "v2.0.0")
    await page.type("#assign-scope", "50%")
    await page.click("#assign-button")
    await until(`document.getElementById("confirm").open`)
    assert.match(
        await page.$eval("#confirm-text", el => el.textContent!),
        /Assign v2\.0\.0 to 50%\?/
    )
    await page.click("#confirm-cancel")
    await until(
        `document.getElementById("toast").textContent === "cancelled: assign"`
    )
    assert.equal((await store.rollouts()).length, 1, "cancelled: no rollout")
    // confirmed: rollout 2, a canary of 3 devices, none updated yet
    await page.click("#assign-button")
    await until(`document.getElementById("confirm").open`)
    await page.click("#confirm-ok")
    await until(`document.querySelector('tr[data-rollout="2"] .bar')`)
    assert.deepEqual(await bar(2), { updated: 0, target: 3, failed: 0 })
    assert.equal((await store.rollouts())[1].version, "v2.0.0")

    const seen: number[] = [0]
    const checkInAll = async (midShot?: number) => {
        for (const m of members) {
            await m.checkIn()
            const expect = members.filter(x => x.fake.hash() === v2hash).length
            await until(
                `document.querySelector('tr[data-rollout="2"] .bar').dataset.updated === "${expect}"`
            )
            if (seen.at(-1) !== expect) seen.push(expect)
            if (expect === midShot) await screenshot(page, "fleet-mid-rollout")
        }
    }
    await checkInAll()
    await until(
        `document.querySelector('tr[data-rollout="2"]').dataset.done === "true"`
    )
    assert.deepEqual(
        seen,
        [0, 1, 2, 3],
        "the canary's bar moved one device at a time"
    )

    // widen to 100% from the page
    await page.$eval(
        'tr[data-rollout="2"] input.widen-to',
        el => ((el as HTMLInputElement).value = "")
    )
    await page.type('tr[data-rollout="2"] input.widen-to', "100")
    await clickRow('tr[data-rollout="2"] button.act-widen')
    await until(`document.getElementById("confirm").open`)
    assert.match(
        await page.$eval("#confirm-text", el => el.textContent!),
        /from 50% to 100%/
    )
    await page.click("#confirm-ok")
    await until(
        `document.querySelector('tr[data-rollout="2"] .bar').dataset.target === "6"`
    )
    assert.equal((await bar(2)).updated, 3)
    assert.equal(
        await page.$eval('tr[data-rollout="2"]', el =>
            el.getAttribute("data-done")
        ),
        "false"
    )
    await checkInAll(4)
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6])
    await until(
        `document.querySelector('tr[data-rollout="2"]').dataset.done === "true"`
    )
    assert.match(
        await page.$eval('tr[data-rollout="2"] .state', el => el.textContent!),
        /done/
    )
    await until(
        `[...document.querySelectorAll("#devices tbody tr")].every(r => r.dataset.current === "v2.0.0")`
    )

    // filter and sort
    await page.type("#device-filter", "field")
    await until(`document.querySelectorAll("#devices tbody tr").length === 3`)
    await page.click('#devices th[data-key="id"]') // descending
    assert.deepEqual(
        await page.$$eval("#devices tbody tr", rs =>
            rs.map(r => r.getAttribute("data-device"))
        ),
        ["dev-5", "dev-4", "dev-3"]
    )
    await page.$eval("#device-filter", el => {
        ;(el as HTMLInputElement).value = ""
        el.dispatchEvent(new Event("input"))
    })
    await until(`document.querySelectorAll("#devices tbody tr").length === 6`)
    await screenshot(page, "fleet-done")

    // stop, confirmed: the devices that run it keep it
    await clickRow('tr[data-rollout="2"] button.act-stop')
    await until(`document.getElementById("confirm").open`)
    assert.match(
        await page.$eval("#confirm-text", el => el.textContent!),
        /Stop rollout 2 \(v2\.0\.0 to 100%\)\?/
    )
    await page.click("#confirm-ok")
    await until(
        `document.querySelector('tr[data-rollout="2"]').dataset.status === "stopped"`
    )
    assert.match(
        await page.$eval('tr[data-rollout="2"] .state', el => el.textContent!),
        /stopped: stopped from the console/
    )
    assert.equal((await store.rollouts())[1].status, "stopped")
    assert.ok(
        await page.$$eval("#devices tbody tr", rs =>
            rs.every(r => r.getAttribute("data-current") === "v2.0.0")
        )
    )
})

test("readings charts gain points live; a gap in seq breaks the line; dropped readings, version reports and re-authentications are marked", async () => {
    await page.goto(con.url + "#readings")
    await until(`document.getElementById("live").textContent === "live"`)
    const m = members[0]
    const chart = `.chart[data-device="${PK}/dev-0"][data-field="temperature"]`
    const points = () =>
        page.$eval(chart, el => Number(el.getAttribute("data-points")))
    for (let i = 0; i < 4; i++) await m.report()
    await until(`document.querySelector('${chart}')?.dataset.points === "4"`)
    const legend = `.device-card[data-device="${PK}/dev-0"] .legend`
    // its version report (it runs v2.0.0 since the rollout) is marked
    assert.equal(m.version(), "v2.0.0")
    assert.match(
        await page.$eval(legend, el => el.textContent!),
        /version v2\.0\.0/
    )
    // more arrive: the same chart grows without a reload
    for (let i = 0; i < 4; i++) await m.report()
    await until(`document.querySelector('${chart}').dataset.points === "8"`)
    assert.equal(await points(), 8)
    // two readings never arrive: the line breaks once
    await m.report({ skip: 2 })
    for (let i = 0; i < 3; i++) await m.report()
    await until(`document.querySelector('${chart}').dataset.points === "12"`)
    assert.equal(
        await page.$eval(chart, el => el.getAttribute("data-gaps")),
        "1"
    )
    // the device reports readings it had to drop
    await m.report({ dropped: 3 })
    await until(
        `/3 dropped/.test(document.querySelector('${legend}').textContent)`
    )
    // its token expires: it authenticates again, a marker
    const auths = () =>
        page.$eval(legend, el => Number(/(\d+) auth/.exec(el.textContent!)![1]))
    const before = await auths()
    platform.expireToken(PK, "dev-0")
    for (let i = 0; i < 3; i++) await m.report()
    await until(
        `Number(/(\\d+) auth/.exec(document.querySelector('${legend}').textContent)[1]) === ${before + 1}`
    )
    // the other devices report too; any field that arrives gets a chart
    for (const x of members.slice(1, 3))
        for (let i = 0; i < 5; i++) await x.report()
    await members[1].report({ values: { temperature: 20.5, pressure: 1013.2 } })
    await until(
        `document.querySelector('.chart[data-device="${PK}/dev-1"][data-field="pressure"]')?.dataset.points === "1"`
    )
    assert.ok(
        (await page.$eval(chart, el =>
            Number(el.getAttribute("data-markers"))
        )) >= 3
    )
    await page.$eval(`.device-card[data-device="${PK}/dev-0"]`, el =>
        el.scrollIntoView()
    )
    await screenshot(page, "readings-chart")
})

test("a device's page shows its event log and the failed handshakes the running service counted; no page or answer carries a secret", async () => {
    await page.goto(con.url + "#fleet")
    await until(`document.querySelector('#devices a[href="#device/dev-3"]')`)
    await clickRow('#devices a[href="#device/dev-3"]')
    await until(
        `document.querySelectorAll("#view-device table.events tbody tr").length >= 2`
    )
    const log = await page.$eval(
        "#view-device table.events",
        el => el.textContent!
    )
    assert.match(log, /deploy/)
    // someone tries dev-3's id with another key: the running service counts it, the page shows it
    const thief = new FakeDevice({
        connectionString: await svc.connectionString("dev-3"),
        key: newDeviceKey(),
        program: Buffer.alloc(0),
    })
    assert.equal((await thief.connect().ended).authenticated, false)
    await until(
        `/1 failed handshake in the last hour \\(last: wrong key/.test(document.querySelector("#view-device table.device-info").textContent)`
    )
    await screenshot(page, "device-page")

    const texts = await Promise.all(
        [
            `/?token=${con.token}`,
            "/api/fleet",
            "/api/readings",
            "/api/device?id=dev-3",
        ].map(p =>
            fetch(base() + p, {
                headers: { "X-Console-Token": con.token },
            }).then(r => r.text())
        )
    )
    texts.push(await page.content())
    const secrets = [
        ...(await store.devices()).map(d => d.key),
        ...IDS.map(secret),
        ...platform.auths().flatMap(a => (a.token ? [a.token] : [])),
    ]
    assert.ok(secrets.length > IDS.length * 2)
    for (const t of texts) {
        for (const s of secrets)
            assert.equal(t.includes(s), false, "a secret in an answer")
        assert.doesNotMatch(t, /wssk:/, "a connection string in an answer")
    }
})

test("no console credential reaches another local port: the browser sends the token to the console's origin only, and the page works", async () => {
    // another server on loopback, as any local program may run
    const seen: string[] = []
    const other = createServer((req, res) => {
        seen.push(`${req.method} ${req.url} ${JSON.stringify(req.headers)}`)
        if (req.url === "/") {
            res.writeHead(200, { "Content-Type": "text/html" })
            res.end(
                `<img src="/pixel.png"><script>fetch("/data", { credentials: "include" }).then(() => (document.title = "fetched"))</script>`
            )
        } else {
            res.writeHead(200, { "Content-Type": "text/plain" })
            res.end("ok")
        }
    })
    await new Promise<void>(r => other.listen(0, "127.0.0.1", r))
    const otherBase = `http://127.0.0.1:${(other.address() as AddressInfo).port}`
    try {
        await page.goto(con.url + "#fleet")
        await until(`document.getElementById("live").textContent === "live"`)
        await until(
            `document.querySelectorAll("#devices tbody tr[data-device]").length === ${IDS.length}`
        )
        // the page, an image and a fetch on the other port
        await page.goto(otherBase + "/")
        await waitUntil(
            () =>
                seen.some(l => l.startsWith("GET /pixel.png")) &&
                seen.some(l => l.startsWith("GET /data")),
            30_000,
            "the other server's page, image and fetch"
        )
        await until(`document.title === "fetched"`)
        for (const l of seen)
            assert.equal(l.includes(con.token), false, `the token in ${l}`)
        assert.deepEqual(
            (await page.cookies(otherBase + "/")).map(c => c.name),
            [],
            "no cookie for the other port"
        )
        // back at the console with its printed URL: both views work
        await page.goto(con.url + "#fleet")
        await until(`document.getElementById("live").textContent === "live"`)
        await until(
            `document.querySelectorAll("#devices tbody tr[data-device]").length === ${IDS.length}`
        )
        await page.goto(con.url + "#readings")
        await until(
            `document.querySelector('.chart[data-device="${PK}/dev-0"][data-field="temperature"]')?.dataset.points > 0`
        )
    } finally {
        other.closeAllConnections()
        await new Promise(r => other.close(r))
    }
})

test("hostile device text: a NUL in a name adds one card, not one per render; bidi overrides and controls are shown as escapes; a reading with 2,000 fields draws 16 charts and names the rest", async () => {
    await page.goto(con.url + "#readings")
    await until(`document.getElementById("live").textContent === "live"`)
    // a stranger's /auth with a NUL in the name: the console keeps it as an unknown device
    await postAuth(
        { port: platform.port, ca: platform.ca },
        {
            productKey: PK,
            deviceName: "ghost\u0000x",
            clientId: "x",
            sign: "00",
        }
    )
    const ghostCards = `[...document.querySelectorAll(".device-card h3")].filter(e => e.textContent === "${PK}/ghost\\\\u0000x").length`
    await until(`${ghostCards} === 1`)
    // each reading that arrives renders the view again
    const cards = () => page.$$eval(".device-card", l => l.length)
    const before = await cards()
    for (let i = 0; i < 3; i++) {
        const n = await page.$eval(
            `.chart[data-device="${PK}/dev-1"][data-field="temperature"]`,
            el => Number(el.getAttribute("data-points"))
        )
        await members[1].report()
        await until(
            `Number(document.querySelector('.chart[data-device="${PK}/dev-1"][data-field="temperature"]').dataset.points) > ${n}`
        )
    }
    assert.equal(await cards(), before, "no card added by a render")
    assert.equal(await page.evaluate(ghostCards), 1)

    // a reading with 2,000 fields
    const wide: Record<string, number> = {}
    for (let i = 0; i < 2000; i++) wide[`f${String(i).padStart(4, "0")}`] = i
    await members[2].report({ values: wide })
    const card = `.device-card[data-device="${PK}/dev-2"]`
    await until(
        `/not charted/.test(document.querySelector('${card} .legend').textContent)`
    )
    assert.equal(
        await page.$$eval(`${card} .chart`, l => l.length),
        16,
        "16 charts"
    )
    const legend = await page.$eval(`${card} .legend`, el => el.textContent!)
    assert.match(legend, /16 of \d+ fields charted/)
    assert.match(legend, /not kept/)
    await screenshot(page, "readings-hostile")

    // names with a right-to-left override and a control character, as an older database may hold
    await store.addVersion({
        name: "v9\u202Egpj.exe",
        hash: "9".repeat(64),
        size: 1,
        note: "note\u001B[31m",
        publishedAt: Date.now(),
        signature: "",
    })
    await store.upsertDevice({
        id: "dev-\u202E9",
        key: newDeviceKey().toString("hex"),
        groups: ["lab\u2066"],
        platformId: "",
        createdAt: Date.now(),
    })
    await page.goto(con.url + "#fleet")
    await until(
        `document.querySelectorAll("#devices tbody tr[data-device]").length === ${IDS.length + 1}`
    )
    await until(
        `document.querySelector('#versions tbody tr[data-version="v9\u202Egpj.exe"]')`
    )
    const texts = await page.evaluate(() => ({
        versions: document.querySelector("#versions tbody")!.textContent!,
        devices: document.querySelector("#devices tbody")!.textContent!,
        options: [...document.querySelectorAll("#assign-version option")].map(
            o => [o.textContent, (o as HTMLOptionElement).value]
        ),
        body: document.body.innerText,
    }))
    assert.match(texts.versions, /v9\\u202Egpj\.exe/)
    assert.match(texts.versions, /note\\u001B\[31m/)
    assert.match(texts.devices, /dev-\\u202E9/)
    assert.match(texts.devices, /lab\\u2066/)
    assert.ok(
        texts.options.some(
            ([t, v]) => t === "v9\\u202Egpj.exe" && v === "v9\u202Egpj.exe"
        ),
        "the option shows the escape and keeps the name"
    )
    assert.doesNotMatch(
        texts.body,
        /[\u0000-\u0008\u000B-\u001F\u202A-\u202E\u2066-\u2069]/
    )
    await clickRow(
        `#devices a[href="#device/${encodeURIComponent("dev-\u202E9")}"]`
    )
    await until(
        `document.querySelector("#view-device h2")?.textContent === "Device dev-\\\\u202E9"`
    )
    await screenshot(page, "hostile-names")
})

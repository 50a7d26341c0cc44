// The emulator keeps what it must and nothing more: its record lists are
// bounded by count and by bytes (oldest dropped, and counted), and the admin
// API's lists are answered a bounded page at a time. Run as `npm run platform`
// would be, in a process of its own, so that "stays up" means the process.
import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import https from "node:https"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { authenticate, publish } from "../../host/testkit/platform-client.ts"
import { startPlatform } from "../../host/platform/index.ts"
import { RecordLog, type PageQuery } from "../../host/platform/record-log.ts"
import {
    ListQueryError,
    pageLinks,
    parseListQuery,
    type RecordList,
} from "../../host/platform/list-page.ts"
import {
    startPlatformCli,
    type PlatformProcess,
} from "./platform-cli-process.ts"

const dev = {
    productKey: "a1LogBound1",
    deviceName: "log-1",
    deviceSecret: "logSecret0123456789abcdef0123456",
}
const topic = `/${dev.productKey}/${dev.deviceName}/user/update`
const MAX_BODY = 128 * 1024
const stateDir = mkdtempSync(join(tmpdir(), "platform-log-"))
let cli: PlatformProcess
let target: { port: number; ca: string }

before(async () => {
    cli = await startPlatformCli([
        "--port",
        "0",
        "--state",
        stateDir,
        "--quiet",
        "--device",
        `${dev.productKey}/${dev.deviceName}/${dev.deviceSecret}`,
    ])
    assert.ok(cli.url, cli.output())
    target = { port: cli.port, ca: readFileSync(cli.caFile, "utf8") }
})
after(async () => {
    await cli.stop()
    rmSync(stateDir, { recursive: true, force: true })
})

/** A body of exactly `size` bytes of JSON text with `seq`. */
function body(seq: number, size: number) {
    const head = `{"seq":${seq},"pad":"`
    return Buffer.from(head + "x".repeat(size - head.length - 2) + '"}')
}

/** Publishes `n` bodies of `size` bytes on `parallel` keep-alive connections. */
async function publishMany(token: string, n: number, size: number) {
    const parallel = 4
    const agent = new https.Agent({
        keepAlive: true,
        maxSockets: parallel,
        ca: target.ca,
    })
    let next = 0
    const worker = async () => {
        while (next < n) {
            const seq = ++next
            const r = await publish(target, topic, token, body(seq, size), {
                agent,
            })
            assert.equal(r.json?.code, 0, r.text)
        }
    }
    try {
        await Promise.all(Array.from({ length: parallel }, worker))
    } finally {
        agent.destroy()
    }
}

async function admin(path: string) {
    const r = await fetch(new URL(path, cli.adminUrl), {
        signal: AbortSignal.timeout(60_000),
    })
    const text = await r.text()
    return {
        status: r.status,
        headers: r.headers,
        text,
        json: JSON.parse(text),
    }
}

test("after 3,000 maximum-size messages the emulator answers GET /messages with a bounded page and stays up", async () => {
    const token = await authenticate(target, dev)
    const n = 3000
    await publishMany(token, n, MAX_BODY)

    const page = await admin("/messages")
    assert.equal(page.status, 200)
    assert.ok(Array.isArray(page.json))
    assert.ok(page.json.length >= 1)
    // a bounded answer: far below what 3,000 messages would take (~900 MB)
    assert.ok(page.text.length < 16 * 1024 * 1024, `${page.text.length}`)
    // the newest page, oldest first (the last message sent is among the
    // last few to arrive, as four connections send side by side)
    const pageSeqs = page.json.map((m: any) => m.seq)
    assert.deepEqual(
        pageSeqs,
        [...pageSeqs].sort((a, b) => a - b)
    )
    assert.ok(page.json.every((m: any) => m.size === MAX_BODY))

    // the log kept the newest messages and counted the ones it dropped
    const stats = (await admin("/stats")).json
    assert.equal(stats.messages, n)
    const dropped = stats.dropped.messages
    assert.ok(dropped > 0, "the oldest were dropped")
    assert.equal(Number(page.headers.get("x-dropped-records")), dropped)

    // paging back through the `prev` links visits every kept message once,
    // and they are the newest ones
    const sent: number[] = []
    let p = page
    for (;;) {
        sent.unshift(...p.json.map((m: any) => JSON.parse(m.utf8).seq))
        const prev = /<([^>]+)>;\s*rel="prev"/.exec(p.headers.get("link") ?? "")
        if (!prev) break
        p = await admin(prev[1])
        assert.equal(p.status, 200)
    }
    assert.equal(sent.length + dropped, n)
    assert.equal(new Set(sent).size, sent.length)
    assert.ok(sent.includes(n))
    assert.ok(Math.min(...sent) > dropped - 4, `${Math.min(...sent)}`)

    // still up: the process runs and the channel still takes a publish
    assert.equal(cli.exitCode(), null, cli.output())
    const again = await publish(target, topic, token, body(n + 1, 100))
    assert.equal(again.json.code, 0)
})

test("a record log keeps at most maxCount records and maxBytes bytes, dropping and counting the oldest", () => {
    const size = (r: { seq: number; n: number }) => r.n
    const byCount = new RecordLog(3, 1000, size)
    for (let seq = 1; seq <= 5; seq++) byCount.push({ seq, n: 10 })
    assert.deepEqual(
        byCount.list.map(r => r.seq),
        [3, 4, 5]
    )
    assert.equal(byCount.dropped, 2)
    assert.equal(byCount.bytes, 30)

    const byBytes = new RecordLog(100, 100, size)
    for (let seq = 1; seq <= 4; seq++) byBytes.push({ seq, n: 40 })
    assert.deepEqual(
        byBytes.list.map(r => r.seq),
        [3, 4]
    )
    assert.equal(byBytes.dropped, 2)
    // a record larger than the bound is kept alone, not refused
    byBytes.push({ seq: 5, n: 500 })
    assert.deepEqual(
        byBytes.list.map(r => r.seq),
        [5]
    )
    assert.equal(byBytes.dropped, 4)
    assert.equal(byBytes.bytes, 500)
    byBytes.clear()
    assert.equal(byBytes.list.length + byBytes.dropped + byBytes.bytes, 0)
    assert.throws(() => new RecordLog(0, 1, size), /maxCount/)
    assert.throws(() => new RecordLog(1, 0.5, size), /maxBytes/)
})

test("a record log's pages: the newest by default, since and before, limit, bytes, a filter", () => {
    const log = new RecordLog<{ seq: number; odd: boolean }>(100, 1e9, () => 1)
    // seqs 2, 4, ... 20 (other lists take the odd numbers)
    for (let seq = 2; seq <= 20; seq += 2) log.push({ seq, odd: seq % 4 === 0 })
    const view = (r: { seq: number }) => ({ value: r.seq, bytes: 10 })
    const page = (q: Partial<PageQuery>, keep?: (r: any) => boolean) =>
        log.page({ limit: 1000, maxBytes: 1e9, ...q }, view, keep)

    assert.deepEqual(page({}), {
        records: [2, 4, 6, 8, 10, 12, 14, 16, 18, 20],
        earlier: false,
        later: false,
    })
    assert.deepEqual(page({ limit: 3 }), {
        records: [16, 18, 20],
        earlier: true,
        later: false,
    })
    assert.deepEqual(page({ since: 0, limit: 3 }), {
        records: [2, 4, 6],
        earlier: false,
        later: true,
    })
    assert.deepEqual(page({ since: 5, limit: 2 }), {
        records: [6, 8],
        earlier: true,
        later: true,
    })
    assert.deepEqual(page({ before: 16, limit: 2 }), {
        records: [12, 14],
        earlier: true,
        later: true,
    })
    assert.deepEqual(page({ since: 4, before: 10 }), {
        records: [6, 8],
        earlier: true,
        later: true,
    })
    assert.deepEqual(page({ since: 20 }), {
        records: [],
        earlier: true,
        later: false,
    })
    // 25 bytes hold two 10-byte records; one record always fits
    assert.deepEqual(page({ since: 0, maxBytes: 25 }).records, [2, 4])
    assert.deepEqual(page({ maxBytes: 5 }).records, [20])
    // a filter: only records it keeps count, for the page and its neighbours
    assert.deepEqual(
        page({ since: 0, limit: 2 }, r => r.odd),
        {
            records: [4, 8],
            earlier: false,
            later: true,
        }
    )
    assert.deepEqual(
        page({ since: 16 }, r => r.odd),
        {
            records: [20],
            earlier: true,
            later: false,
        }
    )
})

test("list query parameters are checked, and a page links its neighbours", () => {
    const q = (s: string, list: RecordList = "messages") =>
        parseListQuery(list, new URLSearchParams(s))
    assert.deepEqual(q(""), {})
    assert.deepEqual(q("since=0"), { since: 0 })
    assert.deepEqual(
        q("since=5&before=9&limit=10&productKey=a1B2c3D4e5F&deviceName=d-1"),
        {
            since: 5,
            before: 9,
            limit: 10,
            productKey: "a1B2c3D4e5F",
            deviceName: "d-1",
        }
    )
    for (const [s, re] of [
        ["since=-1", /since must be a record's seq/],
        ["since=1.5", /since must be a record's seq/],
        ["since=abc", /since must be a record's seq/],
        ["before=", /before must be a record's seq/],
        ["since=99999999999999999999", /since must be a record's seq/],
        ["limit=0", /limit must be a whole number in 1\.\.1000/],
        ["limit=1001", /limit must be a whole number in 1\.\.1000/],
        ["since=1&since=2", /since may be given once/],
        ["sinse=1", /unknown parameter "sinse"/],
    ] as const)
        assert.throws(() => q(s), re, s)
    assert.throws(
        () => q("productKey=x", "requests"),
        /requests cannot be filtered by productKey/
    )
    assert.throws(() => q("since=x"), ListQueryError)

    const recs = [{ seq: 7 }, { seq: 9 }]
    assert.equal(
        pageLinks(
            "/messages",
            { limit: 2, deviceName: "d 1" },
            { records: recs, earlier: true, later: true, dropped: 0 }
        ),
        '</messages?since=9&limit=2&deviceName=d+1>; rel="next", ' +
            '</messages?before=7&limit=2&deviceName=d+1>; rel="prev"'
    )
    assert.equal(
        pageLinks(
            "/auths",
            {},
            { records: recs, earlier: false, later: false, dropped: 0 }
        ),
        undefined
    )
    assert.equal(
        pageLinks(
            "/auths",
            {},
            { records: [], earlier: true, later: true, dropped: 0 }
        ),
        undefined
    )
})

test("admin API lists: bounded by --max-records, dropped counted, paged by since/before/limit, filtered by device", async () => {
    const dir = mkdtempSync(join(tmpdir(), "platform-log-admin-"))
    const other = { ...dev, deviceName: "log-2", deviceSecret: "otherSecret" }
    const p = await startPlatform({
        stateDir: dir,
        devices: [dev, other],
        maxRecords: 4,
    })
    const get = async (path: string) => {
        const r = await fetch(`${p.adminUrl}${path}`)
        return {
            status: r.status,
            link: r.headers.get("link"),
            dropped: r.headers.get("x-dropped-records"),
            json: (await r.json()) as any,
        }
    }
    try {
        const t1 = await authenticate(p, dev)
        const t2 = await authenticate(p, other)
        for (let i = 1; i <= 6; i++)
            await publish(
                p,
                i % 2 ? topic : `/${dev.productKey}/log-2/user/update`,
                i % 2 ? t1 : t2,
                `m${i}`
            )
        // the log keeps the newest 4 of 6; the admin shows the count dropped
        const all = await get("/messages")
        assert.deepEqual(
            all.json.map((m: any) => m.utf8),
            ["m3", "m4", "m5", "m6"]
        )
        assert.equal(all.dropped, "2")
        // a kept body holds memory of its own, not a slice of a shared pool
        for (const m of p.messages())
            assert.equal(m.body.buffer.byteLength, m.body.length)
        assert.equal(all.link, null)
        const stats = (await get("/stats")).json
        assert.equal(stats.messages, 6)
        assert.deepEqual(stats.dropped, {
            messages: 2,
            informs: 0,
            auths: 0,
            requests: 4, // 8 requests, 4 kept
        })
        // the newest 2, a link back to the 2 before them
        const newest = await get("/messages?limit=2")
        assert.deepEqual(
            newest.json.map((m: any) => m.utf8),
            ["m5", "m6"]
        )
        const prev = /<([^>]+)>; rel="prev"/.exec(newest.link!)![1]
        assert.equal(prev, `/messages?before=${newest.json[0].seq}&limit=2`)
        assert.deepEqual(
            (await get(prev)).json.map((m: any) => m.utf8),
            ["m3", "m4"]
        )
        // since: what came after a record, oldest first (the console's poll)
        const after = await get(`/messages?since=${all.json[0].seq}&limit=2`)
        assert.deepEqual(
            after.json.map((m: any) => m.utf8),
            ["m4", "m5"]
        )
        assert.match(after.link!, /rel="next"/)
        assert.match(after.link!, /rel="prev"/)
        assert.deepEqual(
            (await get(`/messages?since=${all.json[3].seq}`)).json,
            []
        )
        // one device's messages
        const one = await get(
            `/messages?productKey=${dev.productKey}&deviceName=log-2`
        )
        assert.deepEqual(
            one.json.map((m: any) => m.utf8),
            ["m4", "m6"]
        )
        assert.equal(
            (await get(`/auths?deviceName=${dev.deviceName}`)).json.length,
            1
        )
        // bad parameters are 400 with the reason
        for (const [path, re] of [
            ["/messages?since=-1", /since must be/],
            ["/auths?limit=5000", /limit must be/],
            ["/requests?deviceName=x", /cannot be filtered/],
            ["/informs?page=2", /unknown parameter "page"/],
        ] as const) {
            const r = await get(path)
            assert.equal(r.status, 400, path)
            assert.match(r.json.error, re)
        }
        // reset clears the lists and their dropped counts
        p.reset()
        assert.equal((await get("/messages")).dropped, "0")
        await assert.rejects(
            startPlatform({ stateDir: dir, maxRecords: 0 }),
            /maxRecords must be a whole number >= 1/
        )
        await assert.rejects(
            startPlatform({ stateDir: dir, maxLogBytes: 1.5 }),
            /maxLogBytes must be a whole number >= 1/
        )
    } finally {
        await p.close()
        rmSync(dir, { recursive: true, force: true })
    }
})

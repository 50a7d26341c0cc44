// POST /topic/${topic} over HTTPS against the emulator: every row of the
// publish code table, token lifetime, topic ownership, the 128 KB
// boundary, byte-exact bodies, 64-bit messageIds, header case, keep-alive.
import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { randomBytes } from "node:crypto"
import { startPlatform, type Platform } from "../../host/platform/index.ts"
import {
    authenticate,
    keepAliveAgent,
    publish,
    request,
} from "../../host/testkit/platform-client.ts"

const dev = {
    productKey: "a1GFjLP3xxC",
    deviceName: "device123",
    deviceSecret: "0123456789abcdef0123456789abcdef",
}
const dev2 = {
    productKey: "a1GFjLP3xxC",
    deviceName: "device456",
    deviceSecret: "fedcba9876543210fedcba9876543210",
}
const own = `/${dev.productKey}/${dev.deviceName}/user/update`
const stateDir = mkdtempSync(join(tmpdir(), "platform-topic-"))
let t = 1_800_000_000_000 // the platform's clock, moved by the tests
let p: Platform
let token: string

before(async () => {
    p = await startPlatform({
        stateDir,
        devices: [dev, dev2],
        tokenTtlSeconds: 3600,
        now: () => t,
        topics: [
            {
                topic: "/${productKey}/${deviceName}/user/a/b/c",
                permission: "pub",
            },
        ],
    })
    token = await authenticate(p, dev)
})
after(async () => {
    await p.close()
    rmSync(stateDir, { recursive: true, force: true })
})

test("an accepted publish answers a 64-bit messageId above 2^53 written as a bare number", async () => {
    const r = await publish(p, own, token, "21.5")
    assert.equal(r.status, 200)
    assert.equal(r.headers["content-length"], String(r.body.length))
    const m =
        /^\{"code":0,"message":"success","info":\{"messageId":(\d+)\}\}$/.exec(
            r.text
        )
    assert.ok(m, r.text)
    const id = BigInt(m[1])
    assert.ok(id > 2n ** 53n)
    assert.notEqual(
        String(Number(m[1])),
        m[1],
        "precision is lost in a double, as on the real platform"
    )
    assert.equal(r.json.info.messageId, m[1])
    const rec = p.messages().at(-1)!
    assert.equal(rec.messageId, m[1])
    assert.equal(rec.topic, own)
    assert.equal(rec.productKey, dev.productKey)
    assert.equal(rec.utf8, "21.5")
    const again = await publish(p, own, token, "22")
    assert.ok(BigInt(again.json.info.messageId) > id)
})

test("the body is kept byte-exact, binary included", async () => {
    const bin = Buffer.concat([
        Buffer.from([0, 1, 2, 0, 0xff, 0xfe]),
        randomBytes(1000),
        Buffer.from([0]),
    ])
    const r = await publish(p, own, token, bin)
    assert.equal(r.json.code, 0)
    const m = p.messages().at(-1)!
    assert.ok(m.body.equals(bin))
    assert.equal(Buffer.from(m.base64, "base64").compare(bin), 0)
    assert.equal(m.size, bin.length)
    assert.equal(m.utf8, undefined) // not valid UTF-8
    const empty = await publish(p, own, token, "")
    assert.equal(empty.json.code, 0)
    assert.equal(p.messages().at(-1)!.size, 0)
})

test("128 KB exactly is accepted, one byte more is refused with a clear message", async () => {
    const limit = 128 * 1024
    const before = p.messages().length
    const ok = await publish(p, own, token, randomBytes(limit))
    assert.equal(ok.json.code, 0)
    assert.equal(p.messages().at(-1)!.size, limit)
    const big = await publish(p, own, token, randomBytes(limit + 1))
    assert.equal(big.json.code, 10001)
    assert.match(big.json.detail, /131073 bytes exceeds the 128 KB limit/)
    assert.equal(p.messages().length, before + 1)
})

test("20002: no password header", async () => {
    const r = await publish(p, own, undefined, "x")
    assert.equal(r.json.code, 20002)
    assert.equal(r.json.message, "token is null")
    const blank = await publish(p, own, "", "x")
    assert.equal(blank.json.code, 20002)
})

test("20003: unknown or garbled token", async () => {
    for (const bad of [
        "0123456789abcdef0123456789abcdef",
        token.slice(1),
        `${token}x`,
        "garbage!",
    ]) {
        const r = await publish(p, own, bad, "x")
        assert.equal(r.json.code, 20003, bad)
        assert.equal(r.json.message, "check token error")
    }
})

test("20001: a token expired on demand, then re-auth works", async () => {
    const tk = await authenticate(p, dev2)
    const topic = `/${dev2.productKey}/${dev2.deviceName}/user/update`
    assert.equal((await publish(p, topic, tk, "1")).json.code, 0)
    assert.equal(p.expireToken(dev2.productKey, dev2.deviceName), 1)
    const r = await publish(p, topic, tk, "1")
    assert.equal(r.json.code, 20001)
    assert.equal(r.json.message, "token is expired")
    // the other device's token is untouched
    assert.equal((await publish(p, own, token, "1")).json.code, 0)
    const fresh = await authenticate(p, dev2)
    assert.equal((await publish(p, topic, fresh, "1")).json.code, 0)
})

test("20001: a token expires after its lifetime", async () => {
    const tk = await authenticate(p, dev)
    t += 3600_000 - 1
    assert.equal((await publish(p, own, tk, "1")).json.code, 0)
    t += 1
    assert.equal((await publish(p, own, tk, "1")).json.code, 20001)
    token = await authenticate(p, dev)
})

test("10001: a query string on the topic is refused", async () => {
    for (const q of ["?a=1", "?", "?query_String=xxx"]) {
        const r = await request(p, `/topic${own}${q}`, {
            headers: { password: token },
            body: "x",
        })
        assert.equal(r.json.code, 10001, q)
    }
})

test("the topic must belong to the authenticated device", async () => {
    const ok = [
        own,
        `/sys/${dev.productKey}/${dev.deviceName}/thing/event/property/post`,
        `/${dev.productKey}/${dev.deviceName}/user/update/error`,
        `/${dev.productKey}/${dev.deviceName}/user/a/b/c`, // a custom class
        `/ota/device/inform/${dev.productKey}/${dev.deviceName}`,
    ]
    for (const topic of ok)
        assert.equal((await publish(p, topic, token, "x")).json.code, 0, topic)
    const refused = [
        `/${dev2.productKey}/${dev2.deviceName}/user/update`,
        `/sys/${dev2.productKey}/${dev2.deviceName}/thing/event/property/post`,
        `/otherPK/${dev.deviceName}/user/update`,
        `/${dev.productKey}/${dev.deviceName}`,
        `/${dev.productKey}/${dev.deviceName}/`,
        `/${dev.productKey}/${dev.deviceName}x/user/update`,
        "/",
        `//${dev.productKey}/${dev.deviceName}/user/update`,
        `/ota/device/inform/${dev2.productKey}/${dev2.deviceName}`,
        `/ota/device/inform/${dev.productKey}/${dev.deviceName}/`,
        `/ota/device/inform/${dev.productKey}/${dev.deviceName}/x`,
        `/ota/device/inform/${dev.productKey}`,
        `/ota/device/inform/otherPK/${dev.deviceName}`,
    ]
    const before = p.messages().length
    for (const topic of refused) {
        const r = await publish(p, topic, token, "x")
        assert.equal(r.json.code, 10001, topic)
        assert.match(r.json.detail, /does not belong/)
    }
    assert.equal(p.messages().length, before)
})

test("a version report is kept apart from the device's messages", async () => {
    const topic = `/ota/device/inform/${dev.productKey}/${dev.deviceName}`
    const body = '{"id":"1","params":{"version":"v0.1.1"}}'
    const messagesBefore = p.messages().length
    const informsBefore = p.informs().length
    const r = await publish(p, topic, token, body)
    assert.equal(r.json.code, 0)
    assert.match(String(r.json.info.messageId), /^\d+$/)
    assert.equal(p.messages().length, messagesBefore)
    const informs = p.informs().slice(informsBefore)
    assert.equal(informs.length, 1)
    assert.equal(informs[0].topic, topic)
    assert.equal(informs[0].deviceName, dev.deviceName)
    assert.equal(informs[0].body.toString("utf8"), body)
})

test("header names are case-insensitive (Password, PASSWORD)", async () => {
    for (const name of ["password", "Password", "PASSWORD", "pAsSwOrD"]) {
        const r = await request(p, `/topic${own}`, {
            headers: {
                [name]: token,
                "content-type": "application/octet-stream",
            },
            body: "x",
        })
        assert.equal(r.json.code, 0, name)
    }
})

test("keep-alive: many requests, one TLS connection counted", async () => {
    p.reset()
    const agent = keepAliveAgent(p)
    try {
        const tk = await authenticate(p, dev, { agent })
        for (let i = 0; i < 20; i++) {
            const r = await publish(p, own, tk, `reading ${i}`, {
                agent,
                headers: { Connection: "Keep-Alive" },
            })
            assert.equal(r.json.code, 0)
            assert.match(String(r.headers.connection), /keep-alive/i)
        }
        const s = p.stats()
        assert.equal(s.requests, 21)
        assert.equal(s.tlsConnections, 1)
        assert.equal(s.messages, 20)
        assert.equal(new Set(p.requests().map(r => r.connection)).size, 1)
    } finally {
        agent.destroy()
    }
    // without keep-alive, one connection per request
    await publish(p, own, token, "a")
    await publish(p, own, token, "b")
    assert.equal(p.stats().tlsConnections, 3)
})

test("30001 on the next N publishes", async () => {
    p.setFaults({ publishError: 2 })
    const before = p.messages().length
    assert.equal((await publish(p, own, token, "1")).json.code, 30001)
    const r = await publish(p, own, token, "2")
    assert.equal(r.json.code, 30001)
    assert.equal(r.json.message, "publish message error")
    assert.equal((await publish(p, own, token, "3")).json.code, 0)
    assert.equal(p.messages().length, before + 1)
    assert.equal(p.stats().faults.publishError, 2)
    // auth is not affected
    p.setFaults({ publishError: 1 })
    await authenticate(p, dev)
    assert.equal((await publish(p, own, token, "4")).json.code, 30001)
})

test("10000 through forceCode on publishes", async () => {
    p.setFaults({ forceCode: { code: 10000, count: 1, on: "topic" } })
    const r = await publish(p, own, token, "1")
    assert.equal(r.json.code, 10000)
    assert.equal(r.json.message, "common error")
    assert.equal((await publish(p, own, token, "1")).json.code, 0)
})

test("40000: publishes throttled per device and globally", async () => {
    let now = 1_900_000_000_000
    const q = await startPlatform({
        stateDir,
        adminPort: false,
        devices: [dev, dev2],
        rateDevice: 3,
        rateGlobal: 5,
        now: () => now,
    })
    try {
        const t1 = await authenticate(q, dev) // 1 request for dev
        const t2 = await authenticate(q, dev2) // 1 request for dev2
        const topic2 = `/${dev2.productKey}/${dev2.deviceName}/user/update`
        const codes = []
        for (let i = 0; i < 3; i++)
            codes.push((await publish(q, own, t1, "x")).json.code)
        assert.deepEqual(codes, [0, 0, 40000]) // device: 3 per second
        assert.equal((await publish(q, topic2, t2, "x")).json.code, 0) // global now 5
        const g = await publish(q, topic2, t2, "x")
        assert.equal(g.json.code, 40000) // global: 5 per second
        assert.equal(g.json.message, "request too many")
        now += 1000
        assert.equal((await publish(q, own, t1, "x")).json.code, 0)
        assert.equal(q.stats().codes["40000"], 2)
    } finally {
        await q.close()
    }
})

test("a device removed after auth can no longer publish (20003)", async () => {
    const extra = {
        productKey: "a1GFjLP3xxC",
        deviceName: "temp",
        deviceSecret: "x",
    }
    p.addDevice(extra)
    const tk = await authenticate(p, extra)
    assert.ok(p.removeDevice(extra.productKey, extra.deviceName))
    const r = await publish(
        p,
        `/${extra.productKey}/${extra.deviceName}/user/update`,
        tk,
        "x"
    )
    assert.equal(r.json.code, 20003)
})

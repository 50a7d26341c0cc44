// The emulator's history topic (thing.event.property.history.post): a topic
// every device may publish to, its body checked strictly against Alibaba's
// documented shape; and the configurable body limit a client's size
// refusal is tested with.
import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startPlatform, type Platform } from "../../host/platform/index.ts"
import {
    historyPostProblem,
    historyTopic,
    MAX_FUTURE_MS,
} from "../../host/platform/alink-history.ts"
import { authenticate, publish } from "../../host/testkit/platform-client.ts"

const dev = {
    productKey: "a1GFjLP3xxC",
    deviceName: "device123",
    deviceSecret: "0123456789abcdef0123456789abcdef",
}
const other = {
    productKey: "a1GFjLP3xxC",
    deviceName: "device456",
    deviceSecret: "fedcba9876543210fedcba9876543210",
}
const NOW = 1_800_000_000_000
const stateDir = mkdtempSync(join(tmpdir(), "platform-history-"))
let p: Platform
let token: string

/** A valid history post of `n` readings, as the firmware builds it. */
function history(n: number, mutate?: (doc: any) => void): string {
    const properties = []
    for (let i = 0; i < n; i++)
        properties.push({
            temperature: { value: 21.5, time: NOW - (n - i) * 1000 },
            humidity: { value: 40 + i, time: NOW - (n - i) * 1000 },
        })
    const doc: any = {
        id: "41",
        version: "1.0",
        params: [
            {
                identity: {
                    productKey: dev.productKey,
                    deviceName: dev.deviceName,
                },
                properties,
            },
        ],
        method: "thing.event.property.history.post",
    }
    mutate?.(doc)
    return JSON.stringify(doc)
}

const check = (body: string) =>
    historyPostProblem(Buffer.from(body), dev.productKey, dev.deviceName, NOW)

before(async () => {
    p = await startPlatform({
        stateDir,
        devices: [dev, other],
        adminPort: false,
        now: () => NOW,
    })
    token = await authenticate(p, dev)
})
after(async () => {
    await p.close()
    rmSync(stateDir, { recursive: true, force: true })
})

test("a history post in the documented shape is accepted and stored", async () => {
    const body = history(3)
    const r = await publish(
        p,
        historyTopic(dev.productKey, dev.deviceName),
        token,
        body
    )
    assert.equal(r.json.code, 0, r.text)
    const m = p.messages().at(-1)!
    assert.equal(m.topic, historyTopic(dev.productKey, dev.deviceName))
    assert.equal(m.body.toString(), body)
})

test("events and sys are allowed as documented", () => {
    assert.equal(
        check(
            history(1, d => {
                d.sys = { ack: 0 }
                d.params[0].events = [
                    { alarm: { value: { code: 1 }, time: NOW } },
                ]
            })
        ),
        undefined
    )
})

test("every documented rule is checked", () => {
    const cases: [string, (d: any) => void, RegExp][] = [
        ["numeric id", d => (d.id = 41), /id must be a string/],
        ["id too big", d => (d.id = "4294967296"), /0\.\.4294967295/],
        ["version", d => (d.version = "2.0"), /version/],
        ["method", d => (d.method = "thing.event.property.post"), /method/],
        ["params an object", d => (d.params = d.params[0]), /params/],
        ["params empty", d => (d.params = []), /params/],
        ["no identity", d => delete d.params[0].identity, /identity/],
        [
            "another device's identity",
            d => (d.params[0].identity.deviceName = other.deviceName),
            /not the device's own/,
        ],
        [
            "properties as an object",
            d => (d.params[0].properties = d.params[0].properties[0]),
            /must be an array/,
        ],
        ["no entries", d => (d.params[0].properties = []), /empty/],
        [
            "an entry without time",
            d => delete d.params[0].properties[0].humidity.time,
            /time must be epoch milliseconds/,
        ],
        [
            "time in seconds is still a number; a string is not",
            d => (d.params[0].properties[0].humidity.time = "1800000000000"),
            /time must be/,
        ],
        [
            "a bare value",
            d => (d.params[0].properties[0].humidity = 40),
            /must be \{"value", "time"\}/,
        ],
        [
            "Value spelt otherwise",
            d =>
                (d.params[0].properties[0].humidity = {
                    Value: 40,
                    time: NOW,
                }),
            /unknown field/,
        ],
        [
            "a bad identifier",
            d =>
                (d.params[0].properties[0]["hum-idity"] = {
                    value: 1,
                    time: NOW,
                }),
            /identifier/,
        ],
        [
            "more than 24 hours ahead",
            d =>
                (d.params[0].properties[0].humidity.time =
                    NOW + MAX_FUTURE_MS + 1),
            /24 hours/,
        ],
        ["an unknown top-level field", d => (d.seq = 1), /unknown field/],
    ]
    for (const [name, mutate, why] of cases) {
        const problem = check(history(2, mutate))
        assert.match(problem ?? "accepted", why, name)
    }
    assert.match(check("[1,2]") ?? "", /JSON object/)
    assert.match(check("{") ?? "", /Alink JSON/)
})

test("a malformed history post is 10001 with the reason, and not stored", async () => {
    const before = p.messages().length
    const r = await publish(
        p,
        historyTopic(dev.productKey, dev.deviceName),
        token,
        history(1, d => (d.version = 1))
    )
    assert.equal(r.json.code, 10001)
    assert.match(r.json.detail, /history post: version/)
    assert.equal(p.messages().length, before)
})

test("a configurable body limit: one byte over is 10001, at the limit is accepted", async () => {
    const dir = mkdtempSync(join(tmpdir(), "platform-limit-"))
    const q = await startPlatform({
        stateDir: dir,
        devices: [dev],
        adminPort: false,
        maxBodyBytes: 100,
    })
    try {
        const tk = await authenticate(q, dev)
        const topic = `/${dev.productKey}/${dev.deviceName}/user/update`
        const at = await publish(q, topic, tk, "x".repeat(100))
        assert.equal(at.json.code, 0)
        const over = await publish(q, topic, tk, "x".repeat(101))
        assert.equal(over.json.code, 10001)
        assert.match(over.json.detail, /101 bytes exceeds the limit of 100/)
    } finally {
        await q.close()
        rmSync(dir, { recursive: true, force: true })
    }
    await assert.rejects(
        startPlatform({ stateDir, maxBodyBytes: 131073, adminPort: false }),
        /maxBodyBytes/
    )
})

test("a history post ending in one NUL, as the C SDK's example sends a body (strlen + 1), is accepted and stored byte for byte; more is refused", async () => {
    const json = history(2)
    const withNul = Buffer.concat([Buffer.from(json), Buffer.from([0])])
    const topic = historyTopic(dev.productKey, dev.deviceName)
    const r = await publish(p, topic, token, withNul)
    assert.equal(r.json.code, 0, r.text)
    const last = p.messages().at(-1)!
    assert.deepEqual(last.body, withNul)
    const bad = (b: Buffer) =>
        historyPostProblem(b, dev.productKey, dev.deviceName, NOW)
    assert.equal(bad(withNul), undefined)
    // exactly one NUL: not two, not a NUL inside, not other trailing bytes
    for (const tail of [[0, 0], [0, 0x20], [1], [0xff]]) {
        const b = Buffer.concat([Buffer.from(json), Buffer.from(tail)])
        assert.match(bad(b) ?? "", /Alink JSON/, JSON.stringify(tail))
        const refused = await publish(p, topic, token, b)
        assert.equal(refused.json.code, 10001)
    }
    assert.match(
        bad(
            Buffer.concat([
                Buffer.from(json.slice(0, 5)),
                Buffer.from([0]),
                Buffer.from(json.slice(5)),
            ])
        ) ?? "",
        /Alink JSON/
    )
    assert.match(bad(Buffer.from([0])) ?? "", /Alink JSON/)
})

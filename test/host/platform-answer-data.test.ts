// The answerData fault: accepted publish answers carrying a large, hostile
// `info.Data` before or after `messageId`; the publish itself is processed
// once as usual, and the answer stays exact JSON with a right Content-Length.
import { test } from "node:test"
import assert from "node:assert/strict"
import type { Platform } from "../../host/platform/index.ts"
import {
    parseChannelJson,
    publish,
    RawTlsClient,
} from "../../host/testkit/platform-client.ts"
import {
    answerDataText,
    publishInfoJson,
    DATA_PATTERN,
} from "../../host/platform/answer-data.ts"
import {
    applyFaultsInput,
    FaultInputError,
} from "../../host/platform/faults.ts"
import { useDevicePlatform } from "./platform-fixture.ts"

const dev = {
    productKey: "a1DataPK001",
    deviceName: "data-1",
    deviceSecret: "dataSecret0123456789abcdef012345",
}
const topic = `/${dev.productKey}/${dev.deviceName}/user/update`
let p: Platform
let token: string
useDevicePlatform("platform-data-", dev, s => ({ platform: p, token } = s), {
    reset: true,
})

test("Data text: exactly N bytes of ASCII that hold what fools a naive scanner", () => {
    for (const n of [0, 1, 77, 20 * 1024, 100 * 1024]) {
        const d = answerDataText(n)
        assert.equal(d.length, n)
        assert.equal(Buffer.byteLength(d), n)
    }
    for (const piece of ['"code":', "messageId", '"', "\\", "{", "}", "[", "]"])
        assert.ok(DATA_PATTERN.includes(piece), piece)
    assert.equal(
        publishInfoJson("892687627916247041"),
        '{"messageId":892687627916247041}'
    )
    const after = publishInfoJson("5", { bytes: 3, at: "after" })
    assert.equal(
        after,
        `{"messageId":5,"Data":${JSON.stringify(DATA_PATTERN.slice(0, 3))}}`
    )
    const before = publishInfoJson("5", { bytes: 3, at: "before" })
    assert.equal(
        before,
        `{"Data":${JSON.stringify(DATA_PATTERN.slice(0, 3))},"messageId":5}`
    )
})

test("answerData input: N, {bytes, at}; 0, null or false switch it off; nonsense refused", () => {
    let f = applyFaultsInput({ latencyMs: 0 }, { answerData: 20 }, 0)
    assert.deepEqual(f.answerData, { bytes: 20, at: "after" })
    f = applyFaultsInput(f, { answerData: { bytes: 7, at: "before" } }, 0)
    assert.deepEqual(f.answerData, { bytes: 7, at: "before" })
    for (const off of [0, null, false] as const)
        assert.equal(
            applyFaultsInput(f, { answerData: off }, 0).answerData,
            undefined
        )
    for (const bad of [
        -1,
        1.5,
        true,
        "20",
        { bytes: 5, at: "middle" },
        2 * 1024 * 1024,
    ])
        assert.throws(
            () =>
                applyFaultsInput(
                    { latencyMs: 0 },
                    { answerData: bad } as any,
                    0
                ),
            FaultInputError
        )
})

/** Publishes `body`, checks the answer byte for byte; returns it and the record. */
async function publishWithData(
    bytes: number,
    at: "before" | "after",
    body: string
) {
    const before = p.messages().length
    const r = await publish(p, topic, token, body)
    assert.equal(r.status, 200)
    assert.equal(r.headers["content-length"], String(r.body.length))
    const stored = p.messages().slice(before)
    assert.equal(stored.length, 1, "the message is stored once")
    assert.equal(stored[0].body.toString(), body)
    const id = stored[0].messageId
    const data = JSON.stringify(answerDataText(bytes))
    const info =
        at === "after"
            ? `{"messageId":${id},"Data":${data}}`
            : `{"Data":${data},"messageId":${id}}`
    assert.equal(r.text, `{"code":0,"message":"success","info":${info}}`)
    return { r, id }
}

test("answerData 20 KB and 100 KB after messageId: exact JSON, code and messageId found by a real parse", async () => {
    for (const bytes of [20 * 1024, 100 * 1024]) {
        p.setFaults({ answerData: bytes })
        const { r, id } = await publishWithData(
            bytes,
            "after",
            `reading ${bytes}`
        )
        assert.ok(r.body.length > bytes)
        // a careful parse: the envelope's code, the messageId as its exact digits, Data whole
        const j = parseChannelJson(r.text)
        assert.equal(j.code, 0)
        assert.equal(j.info.messageId, id)
        assert.equal(typeof j.info.messageId, "string")
        assert.ok(BigInt(id) > 2n ** 53n)
        assert.equal(j.info.Data.length, bytes)
        assert.equal(j.info.Data, answerDataText(bytes))
        assert.equal(Object.keys(j).join(), "code,message,info")
    }
    assert.equal(p.stats().faults.answerData, 2)
})

test("answerData before messageId: a naive scan for messageId is fooled, a real parse is not", async () => {
    p.setFaults({ answerData: { bytes: 100 * 1024, at: "before" } })
    const { r, id } = await publishWithData(100 * 1024, "before", "x")
    const naive = /messageId\D*(\d+)/.exec(r.text)![1]
    assert.notEqual(naive, id, "the first messageId in the text is inside Data")
    assert.equal(parseChannelJson(r.text).info.messageId, id)
    assert.equal(JSON.parse(r.text).code, 0)
})

test("answerData keeps keep-alive framing right, and POST /faults switches it on and off", async () => {
    const post = (body: unknown) =>
        fetch(`${p.adminUrl}/faults`, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify(body),
        })
    const on = await post({ answerData: { bytes: 20 * 1024, at: "after" } })
    assert.deepEqual(((await on.json()) as any).answerData, {
        bytes: 20480,
        at: "after",
    })
    assert.equal((await post({ answerData: "lots" })).status, 400)
    const c = new RawTlsClient(p)
    try {
        const req = (b: string) =>
            c.exchange(
                `POST /topic${topic} HTTP/1.1\r\nHost: 127.0.0.1\r\npassword: ${token}\r\n` +
                    `Content-Type: application/octet-stream\r\nContent-Length: ${b.length}\r\n\r\n${b}`
            )
        const first = await req("one")
        assert.equal(first.body.length, Number(first.headers["content-length"]))
        assert.equal(JSON.parse(first.body.toString()).info.Data.length, 20480)
        await post({ answerData: 0 })
        const second = await req("two") // same connection: the first answer was framed exactly
        assert.match(
            second.body.toString(),
            /^\{"code":0,"message":"success","info":\{"messageId":\d+\}\}$/
        )
    } finally {
        c.close()
    }
    assert.deepEqual(
        p.messages().map(m => m.utf8),
        ["one", "two"]
    )
    // errors carry no Data
    p.setFaults({ answerData: 1000 })
    const refused = await publish(
        p,
        `/${dev.productKey}/${dev.deviceName}/user/get`,
        token,
        "x"
    )
    assert.equal(refused.json.code, 10001)
    assert.equal(refused.json.info, undefined)
})

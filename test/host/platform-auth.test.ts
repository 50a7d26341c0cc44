// POST /auth over HTTPS against the emulator: every row of the auth code
// table, the 15-minute window on both sides, sign methods, tolerated forms,
// and a request shaped the way Alibaba's C SDKs send it.
import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startPlatform, type Platform } from "../../host/platform/index.ts"
import { signedAuthBody, computeSign } from "../../host/platform/signing.ts"
import {
    postAuth,
    publish,
    request,
    RawTlsClient,
} from "../../host/testkit/platform-client.ts"

const dev = {
    productKey: "a1GFjLP3xxC",
    deviceName: "device123",
    deviceSecret: "s3cretS3cretS3cretS3cretS3cret12",
}
const stateDir = mkdtempSync(join(tmpdir(), "platform-auth-"))
let p: Platform
let clock = 0 // offset applied to the real clock in some tests

before(async () => {
    p = await startPlatform({
        stateDir,
        devices: [dev],
        now: () => Date.now() + clock,
    })
})
after(async () => {
    await p.close()
    rmSync(stateDir, { recursive: true, force: true })
})

function lastAuth() {
    const a = p.auths()
    return a[a.length - 1]
}

test("a correctly signed auth returns a token, with every sign method", async () => {
    for (const signmethod of ["hmacmd5", "hmacsha1", "hmacsha256"] as const) {
        const r = await postAuth(
            p,
            signedAuthBody({
                ...dev,
                signmethod,
                timestamp: Date.now(),
                version: "default",
            })
        )
        assert.equal(r.status, 200)
        assert.equal(r.json.code, 0, r.text)
        assert.equal(r.json.message, "success")
        // the JWT form by default (platform-tokens.test.ts checks its parts)
        assert.match(
            r.json.info.token,
            /^eyJ0eXBlIjoiSldUIiwiYWxnIjoiaG1hY3NoYTEifQ\.[\w-]+\.[\w-]{27}$/
        )
        assert.equal(Number(r.headers["content-length"]), r.body.length)
        assert.equal(lastAuth().signmethod, signmethod)
        assert.equal(lastAuth().token, r.json.info.token)
    }
})

test("signmethod defaults to hmacmd5 and version to default", async () => {
    const b: any = signedAuthBody({ ...dev, signmethod: "hmacmd5" })
    delete b.signmethod
    const r = await postAuth(p, b)
    assert.equal(r.json.code, 0, r.text)
    assert.equal(lastAuth().signmethod, "hmacmd5")
    assert.equal(lastAuth().version, "default")
    // an MD5 signature sent as sha1 is wrong
    const wrong = await postAuth(p, { ...b, signmethod: "hmacsha1" })
    assert.equal(wrong.json.code, 20000)
})

test("the hex signature is compared case-insensitively", async () => {
    const b = signedAuthBody({ ...dev, timestamp: Date.now() })
    const r = await postAuth(p, { ...b, sign: b.sign.toUpperCase() })
    assert.equal(r.json.code, 0, r.text)
})

test("a query string on /auth is tolerated", async () => {
    const r = await request(
        p,
        "/auth?_v=sdk-c-3.0.1&securemode=2&product_key=x",
        {
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify(signedAuthBody(dev)),
        }
    )
    assert.equal(r.json.code, 0, r.text)
})

test("10001: missing or malformed parameters, non-JSON body, wrong content type", async () => {
    const good = signedAuthBody({ ...dev, timestamp: Date.now() })
    const bodies: unknown[] = []
    for (const k of ["productKey", "deviceName", "clientId", "sign"]) {
        const b: any = { ...good }
        delete b[k]
        bodies.push(b)
    }
    bodies.push({ ...good, clientId: "c".repeat(65) })
    bodies.push({ ...good, signmethod: "hmacsha384" })
    bodies.push({ ...good, timestamp: "yesterday" })
    bodies.push("{not json")
    bodies.push("")
    for (const b of bodies) {
        const r = await postAuth(p, b)
        assert.equal(r.json.code, 10001, `${JSON.stringify(b)} -> ${r.text}`)
        assert.equal(r.json.message, "param error")
        assert.equal(lastAuth().code, 10001)
    }
    for (const ct of [
        "application/octet-stream",
        "text/plain",
        "application/x-www-form-urlencoded",
    ]) {
        const r = await postAuth(p, good, { headers: { "Content-Type": ct } })
        assert.equal(r.json.code, 10001, ct)
    }
    const noCt = await request(p, "/auth", { body: JSON.stringify(good) })
    assert.equal(noCt.json.code, 10001)
    const get = await request(p, "/auth", { method: "GET" })
    assert.equal(get.json.code, 10001)
})

test("a clientId of exactly 64 characters is accepted", async () => {
    const r = await postAuth(
        p,
        signedAuthBody({ ...dev, clientId: "c".repeat(64) })
    )
    assert.equal(r.json.code, 0, r.text)
})

test("20000: unknown device, wrong signature", async () => {
    const unknown = await postAuth(
        p,
        signedAuthBody({ ...dev, deviceName: "nobody" })
    )
    assert.equal(unknown.json.code, 20000)
    assert.equal(unknown.json.message, "auth check error")
    assert.match(lastAuth().reason ?? "", /unknown device/)
    const wrongSecret = await postAuth(
        p,
        signedAuthBody({ ...dev, deviceSecret: "wrong" })
    )
    assert.equal(wrongSecret.json.code, 20000)
    assert.match(lastAuth().reason ?? "", /wrong signature/)
    const b = signedAuthBody({ ...dev, timestamp: Date.now() })
    const tampered = await postAuth(p, {
        ...b,
        timestamp: String(Date.now() - 1000),
    })
    assert.equal(tampered.json.code, 20000)
})

test("20000: a timestamp more than 15 minutes from the server's clock, either side", async () => {
    const min = 60_000
    for (const [skew, code] of [
        [-14 * min, 0],
        [14 * min, 0],
        [-16 * min, 20000],
        [16 * min, 20000],
    ]) {
        const r = await postAuth(
            p,
            signedAuthBody({ ...dev, timestamp: Date.now() + skew })
        )
        assert.equal(r.json.code, code, `skew ${skew / min} min: ${r.text}`)
    }
})

test("the window follows the server's clock (offset through setClockOffset)", async () => {
    const ts = Date.now()
    p.setClockOffset(20 * 60_000) // the platform is 20 minutes ahead
    try {
        const stale = await postAuth(
            p,
            signedAuthBody({ ...dev, timestamp: ts })
        )
        assert.equal(stale.json.code, 20000)
        const fresh = await postAuth(
            p,
            signedAuthBody({ ...dev, timestamp: ts + 20 * 60_000 })
        )
        assert.equal(fresh.json.code, 0)
        // the Date header tells the client the platform's time
        assert.ok(Date.parse(String(fresh.headers.date)) >= ts + 19 * 60_000)
    } finally {
        p.setClockOffset(0)
    }
})

test("40000: auth throttled per device and globally", async () => {
    let t = 1_800_000_000_000
    const q = await startPlatform({
        stateDir,
        adminPort: false,
        devices: [dev, { ...dev, deviceName: "other" }],
        rateDevice: 2,
        rateGlobal: 3,
        now: () => t,
    })
    try {
        const auth = (d: typeof dev) =>
            postAuth(q, signedAuthBody(d)).then(r => r.json.code)
        assert.equal(await auth(dev), 0)
        assert.equal(await auth(dev), 0)
        assert.equal(await auth(dev), 40000) // device limit
        assert.equal(await auth({ ...dev, deviceName: "other" }), 0)
        assert.equal(await auth({ ...dev, deviceName: "other" }), 40000) // global limit
        assert.equal(q.auths().at(-1)?.message, "request too many")
        t += 1000
        assert.equal(await auth(dev), 0)
        assert.equal(q.stats().codes["40000"], 2)
    } finally {
        await q.close()
    }
})

test("10000 and 20004 (the table's remaining rows) through forceCode", async () => {
    for (const code of [10000, 20004]) {
        p.setFaults({ forceCode: { code, count: 1, on: "auth" } })
        const r = await postAuth(p, signedAuthBody(dev))
        assert.equal(r.json.code, code)
        assert.equal(
            r.json.message,
            code === 10000 ? "common error" : "update session error"
        )
        const ok = await postAuth(p, signedAuthBody(dev))
        assert.equal(ok.json.code, 0)
    }
    const nowhere = await request(p, "/nowhere", { body: "{}" })
    assert.equal(nowhere.status, 404)
    assert.equal(nowhere.json.code, 10000)
})

test("a request shaped like Alibaba's C SDKs is accepted (auth then publish on one connection)", async () => {
    const c = new RawTlsClient(p)
    try {
        const clientId = `${dev.productKey}.${dev.deviceName}`
        const sign = computeSign(
            "hmacsha1",
            dev.deviceSecret,
            `clientId${clientId}deviceName${dev.deviceName}productKey${dev.productKey}`
        ).toUpperCase()
        const body = `{"clientId":"${clientId}","signmethod":"hmacsha1","sign":"${sign}","productKey":"${dev.productKey}","deviceName":"${dev.deviceName}"}`
        const auth = await c.exchange(
            `POST /auth HTTP/1.1\r\nHost: 127.0.0.1:${p.port}\r\nAccept: text/xml,text/javascript,text/html,application/json\r\n` +
                `Connection: Keep-Alive\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`
        )
        assert.equal(auth.status, 200)
        assert.equal(auth.headers["content-length"], String(auth.body.length))
        const a = JSON.parse(auth.body.toString())
        assert.equal(a.code, 0, auth.body.toString())
        assert.equal(lastAuth().clientId, clientId)
        assert.equal(lastAuth().version, "default")
        const payload =
            '{"id":"1","version":"1.0","params":{"temp":21.5},"method":"thing.event.property.post"}'
        const topic = `/sys/${dev.productKey}/${dev.deviceName}/thing/event/property/post`
        const pub = await c.exchange(
            `POST /topic${topic} HTTP/1.1\r\nHost: 127.0.0.1:${p.port}\r\nPassword: ${a.info.token}\r\n` +
                `Content-Type: application/octet-stream\r\nConnection: Keep-Alive\r\nContent-Length: ${payload.length}\r\n\r\n${payload}`
        )
        assert.equal(pub.status, 200)
        assert.match(
            pub.body.toString(),
            /^\{"code":0,"message":"success","info":\{"messageId":\d{18,}\}\}$/
        )
        const m = p.messages().at(-1)!
        assert.equal(m.topic, topic)
        assert.equal(m.utf8, payload)
        const reqs = p.requests().slice(-2)
        assert.equal(reqs[0].connection, reqs[1].connection)
    } finally {
        c.close()
    }
})

test("each request records its size on the wire: request line, headers and body", async () => {
    const c = new RawTlsClient(p)
    try {
        const body = "not json"
        const raw =
            `POST /auth HTTP/1.1\r\nHost: 127.0.0.1:${p.port}\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${body.length}\r\n\r\n${body}`
        const answer = await c.exchange(raw)
        assert.equal(answer.status, 200)
        assert.equal(p.requests().at(-1)!.wireBytes, Buffer.byteLength(raw))
    } finally {
        c.close()
    }
})

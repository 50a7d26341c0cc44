// Pure logic of the platform emulator: signing content and HMACs, /auth
// validation, the timestamp window, throttling arithmetic, tokens, faults.
import { test } from "node:test"
import assert from "node:assert/strict"
import {
    computeSign,
    contentToSign,
    signaturesMatch,
    signedAuthBody,
} from "../../host/platform/signing.ts"
import {
    parseAuthRequest,
    verifyAuth,
    TIMESTAMP_WINDOW_MS,
} from "../../host/platform/auth.ts"
import { SlidingWindowLimiter } from "../../host/platform/throttle.ts"
import { TokenStore } from "../../host/platform/tokens.ts"
import {
    buildJwtToken,
    decodeJwtToken,
    JWT_HEADER,
} from "../../host/platform/jwt-token.ts"
import {
    applyFaultsInput,
    takeFault,
    takePublishError,
    PRE_FAULTS,
    FaultInputError,
} from "../../host/platform/faults.ts"
import { resultJson } from "../../host/platform/codes.ts"
import { parseDeviceSpec } from "../../host/platform/state.ts"
import {
    checkedDevice,
    deviceIdentityProblem,
} from "../../host/platform/device-identity.ts"
import { jsonErrorPlace, parseJsonQuietly } from "../../host/lib/json-error.ts"

const json = (o: unknown) => Buffer.from(JSON.stringify(o))
const specParams = {
    clientId: "12345",
    deviceName: "device",
    productKey: "pk",
    timestamp: "789",
}

test("content to sign follows the spec's example", () => {
    assert.equal(
        contentToSign(specParams),
        "clientId12345deviceNamedeviceproductKeypktimestamp789"
    )
    const { timestamp, ...noTs } = specParams
    assert.equal(
        contentToSign(noTs),
        "clientId12345deviceNamedeviceproductKeypk"
    )
})

test("HMACs match the design's vectors", () => {
    const c = contentToSign(specParams)
    assert.equal(
        computeSign("hmacsha1", "secret", c),
        "fafd82a3d602b37fb0fa8b7892f24a477f851a14"
    )
    assert.equal(
        computeSign("hmacmd5", "secret", c),
        "14b198324fe55e1d3c88f2e705e201ee"
    )
    assert.equal(computeSign("hmacsha256", "secret", c).length, 64)
})

test("signatures compare case-insensitively and by length", () => {
    assert.ok(signaturesMatch("fafd82a3", "FAFD82A3"))
    assert.ok(!signaturesMatch("fafd82a3", "fafd82a"))
    assert.ok(!signaturesMatch("fafd82a3", "fafd82a4"))
})

test("signedAuthBody builds a body the rules accept", () => {
    const b = signedAuthBody({
        productKey: "pk",
        deviceName: "device",
        deviceSecret: "secret",
        clientId: "12345",
        timestamp: 789,
    })
    assert.equal(b.sign, "fafd82a3d602b37fb0fa8b7892f24a477f851a14")
    const r = parseAuthRequest("application/json", json(b))
    assert.equal(r.code, 0)
})

test("auth parameters: defaults and tolerated forms", () => {
    const r = parseAuthRequest(
        "Application/JSON; charset=utf-8",
        json({ productKey: "p", deviceName: "d", clientId: "c", sign: "ab" })
    )
    assert.ok(r.code === 0 && "params" in r)
    assert.equal(r.params.signmethod, "hmacmd5")
    assert.equal(r.params.version, "default")
    assert.equal(r.params.timestamp, undefined)
    const n = parseAuthRequest(
        "application/json",
        json({
            productKey: "p",
            deviceName: "d",
            clientId: "c",
            sign: "ab",
            timestamp: 1501668289957,
        })
    )
    assert.ok(n.code === 0 && "params" in n)
    assert.equal(n.params.timestamp, "1501668289957")
})

test("auth parameters: every malformed case is 10001", () => {
    const good = { productKey: "p", deviceName: "d", clientId: "c", sign: "ab" }
    const cases: [string | undefined, Buffer][] = [
        [undefined, json(good)],
        ["text/plain", json(good)],
        ["application/x-www-form-urlencoded", json(good)],
        ["application/json", Buffer.from("productKey=p")],
        ["application/json", Buffer.from("[1,2]")],
        ["application/json", Buffer.from("null")],
        ["application/json", Buffer.from([0xff, 0xfe])],
        ["application/json", json({ ...good, clientId: "x".repeat(65) })],
        ["application/json", json({ ...good, signmethod: "hmacsha512" })],
        ["application/json", json({ ...good, signmethod: "HMACSHA1" })],
        ["application/json", json({ ...good, timestamp: "12:00" })],
        ["application/json", json({ ...good, timestamp: "" })],
        ["application/json", json({ ...good, timestamp: 1.5 })],
        ["application/json", json({ ...good, version: 2 })],
        ["application/json", json({ ...good, productKey: 7 })],
        ["application/json", json({ ...good, sign: "" })],
    ]
    for (const k of Object.keys(good)) {
        const o: any = { ...good }
        delete o[k]
        cases.push(["application/json", json(o)])
    }
    for (const [ct, body] of cases) {
        const r = parseAuthRequest(ct, body)
        assert.equal(r.code, 10001, `${ct} ${body.toString()}`)
        assert.ok("reason" in r && r.reason.length > 0)
    }
    const at64 = parseAuthRequest(
        "application/json",
        json({ ...good, clientId: "x".repeat(64) })
    )
    assert.equal(at64.code, 0)
})

test("timestamp window is 15 minutes, inclusive, both sides", () => {
    const now = 1_700_000_000_000
    const body = (ts: number) =>
        signedAuthBody({
            productKey: "p",
            deviceName: "d",
            deviceSecret: "s",
            timestamp: ts,
        })
    const check = (ts: number) => {
        const r = parseAuthRequest("application/json", json(body(ts)))
        assert.ok(r.code === 0 && "params" in r)
        return verifyAuth(r.params, "s", now).code
    }
    assert.equal(TIMESTAMP_WINDOW_MS, 900_000)
    assert.equal(check(now), 0)
    assert.equal(check(now - 900_000), 0)
    assert.equal(check(now + 900_000), 0)
    assert.equal(check(now - 900_001), 20000)
    assert.equal(check(now + 900_001), 20000)
})

test("verifyAuth: unknown device and wrong signature are 20000", () => {
    const b = signedAuthBody({
        productKey: "p",
        deviceName: "d",
        deviceSecret: "s",
        signmethod: "hmacmd5",
    })
    const r = parseAuthRequest("application/json", json(b))
    assert.ok(r.code === 0 && "params" in r)
    assert.equal(verifyAuth(r.params, "s", Date.now()).code, 0)
    assert.equal(verifyAuth(r.params, undefined, Date.now()).code, 20000)
    assert.equal(verifyAuth(r.params, "other", Date.now()).code, 20000)
    assert.equal(
        verifyAuth({ ...r.params, sign: b.sign.toUpperCase() }, "s", Date.now())
            .code,
        0
    )
    // the signature covers each signed parameter
    assert.equal(
        verifyAuth({ ...r.params, clientId: "other" }, "s", Date.now()).code,
        20000
    )
})

test("sliding window limiter: limit per key per window, refusals not counted", () => {
    const l = new SlidingWindowLimiter(2, 1000)
    assert.ok(l.tryAcquire("a", 0))
    assert.ok(l.tryAcquire("a", 10))
    assert.ok(!l.tryAcquire("a", 20))
    assert.ok(l.tryAcquire("b", 20))
    assert.ok(!l.tryAcquire("a", 999))
    assert.ok(l.tryAcquire("a", 1000)) // the hit at 0 left the window
    assert.ok(!l.tryAcquire("a", 1009))
    assert.ok(l.tryAcquire("a", 1010))
    const unlimited = new SlidingWindowLimiter(0)
    for (let i = 0; i < 1000; i++) assert.ok(unlimited.tryAcquire("a", 0))
    l.reset()
    assert.ok(l.tryAcquire("a", 1010))
    assert.ok(l.tryAcquire("a", 1011))
    l.refund("a") // the latest admitted one was refused later
    assert.ok(l.tryAcquire("a", 1012))
    assert.ok(!l.tryAcquire("a", 1013))
})

test("tokens: valid until the TTL, expirable on demand, unknown otherwise", () => {
    const s = new TokenStore(1000, "hex")
    const t = s.issue("p", "d", 0)
    assert.match(t, /^[0-9a-f]{32}$/)
    assert.equal(s.check(t, 999).status, "ok")
    assert.equal(s.check(t, 1000).status, "expired")
    assert.equal(s.check("nope", 0).status, "unknown")
    const u = s.issue("p", "d", 5000)
    const other = s.issue("p", "e", 5000)
    assert.equal(s.expireDevice("p", "d", 5001), 1)
    assert.equal(s.check(u, 5001).status, "expired")
    assert.equal(s.check(other, 5001).status, "ok")
})

test("JWT-form tokens: Alibaba's layout, 161 characters for a 13-digit expiry", () => {
    const key = Buffer.from("server key")
    const claims = {
        expire: 1502531507477,
        token: "804faca0be174e169bf6485e5cb48719",
    }
    const t = buildJwtToken(claims, key)
    assert.equal(t.length, 161)
    // header and payload parts are the ones in Alibaba's 2017 document
    const doc =
        "eyJ0eXBlIjoiSldUIiwiYWxnIjoiaG1hY3NoYTEifQ.eyJleHBpcmUiOjE1MDI1MzE1MDc0NzcsInRva2VuIjoiODA0ZmFjYTBiZTE3NGUxNjliZjY0ODVlNWNiNDg3MTkifQ."
    assert.ok(t.startsWith(doc), t)
    assert.match(t.slice(doc.length), /^[A-Za-z0-9_-]{27}$/)
    const d = decodeJwtToken(t)!
    assert.equal(d.header, JWT_HEADER)
    assert.deepEqual(JSON.parse(d.payload), claims)
    assert.equal(d.signature.length, 20) // HMAC-SHA1
    // another key, another signature; same claims otherwise
    const other = buildJwtToken(claims, Buffer.from("other key"))
    assert.notEqual(other, t)
    assert.equal(other.slice(0, doc.length), doc)
    assert.throws(() => buildJwtToken({ ...claims, token: "XYZ" }, key))
    assert.throws(() => buildJwtToken({ ...claims, expire: 1.5 }, key))
    assert.equal(decodeJwtToken("abc"), undefined)
    assert.equal(decodeJwtToken("a.b.c=d"), undefined)
})

test("tokens: the JWT form by default, its expire the instant the store expires it", () => {
    const s = new TokenStore(3600_000)
    const now = 1_800_000_000_123
    const t = s.issue("p", "d", now)
    const d = decodeJwtToken(t)!
    const payload = JSON.parse(d.payload)
    assert.equal(payload.expire, now + 3600_000)
    assert.match(payload.token, /^[0-9a-f]{32}$/)
    assert.equal(s.check(t, payload.expire - 1).status, "ok")
    assert.equal(s.check(t, payload.expire).status, "expired")
    // two tokens issued at the same instant differ
    assert.notEqual(s.issue("p", "d", now), t)
})

test("faults: parsing, counting down, scopes", () => {
    let f = applyFaultsInput(
        { latencyMs: 0 },
        { stall: 2, malformedJson: { on: "topic" } },
        0
    )
    assert.deepEqual(f.stall, { count: 2, on: "any" })
    assert.deepEqual(f.malformedJson, { count: "always", on: "topic" })
    assert.equal(takeFault(f, PRE_FAULTS, "auth"), "stall")
    assert.equal(takeFault(f, PRE_FAULTS, "auth"), "stall")
    assert.equal(takeFault(f, PRE_FAULTS, "auth"), undefined)
    assert.equal(takeFault(f, PRE_FAULTS, "topic"), "malformedJson")
    assert.equal(takeFault(f, PRE_FAULTS, "topic"), "malformedJson")
    f = applyFaultsInput(
        f,
        { malformedJson: null, httpError: 502, publishError: 1 },
        0
    )
    assert.equal(f.malformedJson, undefined)
    assert.deepEqual(f.httpError, { count: "always", on: "any", status: 502 })
    assert.ok(takePublishError(f))
    assert.ok(!takePublishError(f))
    f = applyFaultsInput(f, { outageMs: 500, latencyMs: 20 }, 1000)
    assert.equal(f.outageUntil, 1500)
    assert.equal(f.latencyMs, 20)
    for (const badInput of [
        { nope: 1 },
        { httpError: 404 },
        { stall: -1 },
        { stall: "x" },
        { stall: { on: "everything" } },
        { latencyMs: -5 },
        { forceCode: { code: 0 } },
        { forceCode: { code: 12345 } },
    ])
        assert.throws(
            () => applyFaultsInput({ latencyMs: 0 }, badInput as any, 0),
            FaultInputError
        )
})

test("answers: JSON envelope with a bare 64-bit messageId", () => {
    const s = resultJson(0, `{"messageId":892687627916247041}`)
    assert.equal(
        s,
        '{"code":0,"message":"success","info":{"messageId":892687627916247041}}'
    )
    assert.equal(resultJson(20002), '{"code":20002,"message":"token is null"}')
})

test("device specs: PK/DN/SECRET", () => {
    assert.deepEqual(parseDeviceSpec("a1B/dev-1/s3cr/et"), {
        productKey: "a1B",
        deviceName: "dev-1",
        deviceSecret: "s3cr/et",
    })
    assert.throws(() => parseDeviceSpec("a/b"))
    // the spec may hold a secret: the error does not quote it
    assert.throws(
        () => parseDeviceSpec("pk-s3cretValue"),
        (e: Error) => !e.message.includes("s3cret")
    )
})

test("device identities as the platform documents them: productKey 11 letters or digits, deviceName 4-32 of letters, digits and - _ @ . :", () => {
    for (const [pk, dn] of [
        ["a1GFjLP3xxC", "device123"], // the spec's example topic
        ["ZG1EvTEa7NN", "NlwaSPXsCpTQuh8FxBGH"], // the spec's auth example
        ["a1DemoPrd01", "demo-device-1"], // the demo device
        ["A1b2C3d4E5f", "abcd"], // 4 characters
        ["a1DemoPrd01", "x".repeat(32)], // 32 characters
        ["a1DemoPrd01", "a-b_c@d.e:f"], // every special character
    ])
        assert.equal(deviceIdentityProblem(pk, dn), undefined, `${pk}/${dn}`)
    for (const [pk, dn, re] of [
        ["pk", "device", /productKey "pk" .* 11 letters or digits/],
        ["a1GFjLP3xx", "device", /productKey/], // 10
        ["a1GFjLP3xxCC", "device", /productKey/], // 12
        ["a1GFjLP3x-C", "device", /productKey/],
        ["a1GFjLP3xxé", "device", /productKey/],
        ["a1GFjLP3xxC", "dev", /deviceName "dev" .* 4 to 32 characters/],
        ["a1GFjLP3xxC", "x".repeat(33), /deviceName/],
        ["a1GFjLP3xxC", "dev ice", /deviceName/],
        ["a1GFjLP3xxC", "dev/ice", /deviceName/],
        ["a1GFjLP3xxC", "dévice", /deviceName/],
        ["a1GFjLP3xxC", "dev\u0000ice", /deviceName/],
        ["a1GFjLP3xxC", "dev+ice", /deviceName/],
    ] as const)
        assert.match(deviceIdentityProblem(pk, dn) ?? "", re, `${pk}/${dn}`)
    // a quoted name is cut short and escaped
    const long = deviceIdentityProblem(
        "a1GFjLP3xxC",
        "\u001b[31m" + "y".repeat(500)
    )!
    assert.ok(long.length < 300 && !long.includes("\u001b["), long)

    assert.deepEqual(checkedDevice("a1GFjLP3xxC/device123/se/cret"), {
        productKey: "a1GFjLP3xxC",
        deviceName: "device123",
        deviceSecret: "se/cret",
    })
    // the error names the device, never its secret
    assert.throws(
        () => checkedDevice("pk/device/s3cretValue"),
        (e: Error) =>
            /productKey "pk"/.test(e.message) && !e.message.includes("s3cret")
    )
    assert.throws(
        () =>
            checkedDevice({
                productKey: "a1GFjLP3xxC",
                deviceName: "d",
                deviceSecret: "s3cretValue",
            }),
        (e: Error) =>
            /deviceName "d"/.test(e.message) && !e.message.includes("s3cret")
    )
})

test("JSON error places: agree with JSON.parse on validity, name line and column, survive deep nesting", () => {
    const samples = [
        '{"a":[1,-2.5e3,true,false,null,"x\\u00e9\\n"],"b":{}}',
        "[]",
        " 0 ",
        '"\\/"',
        "[1,]",
        "{,}",
        '{"a" 1}',
        "[01]",
        "[1.]",
        "[.5]",
        "[-]",
        '["\\x"]',
        '["\\u12"]',
        '["a\nb"]',
        "tru",
        "[1] [2]",
        "\ufeff[]",
        "",
        "{",
        '{"a":1',
    ]
    for (const text of samples) {
        let valid = true
        try {
            JSON.parse(text)
        } catch {
            valid = false
        }
        assert.equal(jsonErrorPlace(text) === undefined, valid, text)
    }
    assert.deepEqual(jsonErrorPlace('{\n  "a": 1,\n  "b": nope\n}'), {
        line: 3,
        column: 8,
        what: "unexpected character",
    })
    assert.equal(jsonErrorPlace("[".repeat(1_000_000))?.line, 1)
    assert.throws(
        () => parseJsonQuietly('{"secret": hunter2}'),
        (e: Error) =>
            !e.message.includes("hunter2") &&
            /line 1, column 12/.test(e.message)
    )
})

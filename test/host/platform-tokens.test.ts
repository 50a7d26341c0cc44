// Token forms over HTTPS: the JWT form (default) as Alibaba's 2017 document
// shows it, its expiry against the platform's clock, exact-string checks,
// the hex form, and no whole token in event lines or request records.
import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startPlatform, type Platform } from "../../host/platform/index.ts"
import { authenticate, publish } from "../../host/testkit/platform-client.ts"
import { startPlatformCli } from "./platform-cli-process.ts"

const dev = {
    productKey: "a1TokenPK01",
    deviceName: "tok-1",
    deviceSecret: "tokenSecret0123456789abcdef01234",
}
const topic = `/${dev.productKey}/${dev.deviceName}/user/update`
const TTL_S = 7200
const stateDir = mkdtempSync(join(tmpdir(), "platform-tokens-"))
let t = 1_800_000_000_123 // the platform's clock, moved by the tests
const events: string[] = []
let p: Platform

before(async () => {
    p = await startPlatform({
        stateDir,
        devices: [dev],
        tokenTtlSeconds: TTL_S,
        now: () => t,
        onEvent: l => events.push(l),
    })
})
after(async () => {
    await p.close()
    rmSync(stateDir, { recursive: true, force: true })
})

const b64url = (s: string) => Buffer.from(s, "base64url").toString("utf8")

test("a token is JWT-form by default: header, expire = issue + TTL, 32 hex, 161 characters", async () => {
    const issuedAt = t
    const token = await authenticate(p, dev)
    const parts = token.split(".")
    assert.equal(parts.length, 3, token)
    for (const part of parts) assert.match(part, /^[A-Za-z0-9_-]+$/)
    assert.equal(b64url(parts[0]), '{"type":"JWT","alg":"hmacsha1"}')
    const payload = JSON.parse(b64url(parts[1]))
    assert.deepEqual(Object.keys(payload), ["expire", "token"])
    assert.equal(payload.expire, issuedAt + TTL_S * 1000)
    assert.equal(String(payload.expire).length, 13)
    assert.match(payload.token, /^[0-9a-f]{32}$/)
    assert.equal(parts[2].length, 27)
    assert.equal(Buffer.from(parts[2], "base64url").length, 20)
    assert.equal(token.length, 161)
    assert.equal((await publish(p, topic, token, "1")).json.code, 0)
    // each token has its own id and signature
    const second = await authenticate(p, dev)
    assert.notEqual(second, token)
    assert.notEqual(second.split(".")[2], parts[2])
})

test("a JWT-form token answers 20001 from the instant its expire names", async () => {
    const token = await authenticate(p, dev)
    const expire = JSON.parse(b64url(token.split(".")[1])).expire
    t = expire - 1
    assert.equal((await publish(p, topic, token, "1")).json.code, 0)
    t = expire
    const r = await publish(p, topic, token, "1")
    assert.equal(r.json.code, 20001)
    assert.equal(r.json.message, "token is expired")
    const fresh = await authenticate(p, dev)
    assert.equal((await publish(p, topic, fresh, "1")).json.code, 0)
})

test("a tampered JWT-form token is 20003: tokens are checked by exact string", async () => {
    const token = await authenticate(p, dev)
    const [h, pl, sig] = token.split(".")
    const payload = JSON.parse(b64url(pl))
    const longer = Buffer.from(
        JSON.stringify({ ...payload, expire: payload.expire + 1e9 })
    ).toString("base64url")
    const flip = (s: string, i: number) =>
        s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1)
    const forged = [
        `${h}.${longer}.${sig}`, // a later expiry with the old signature
        `${h}.${pl}.${flip(sig, 5)}`, // another signature
        `${h}.${flip(pl, 20)}.${sig}`,
        `${h}.${pl}`,
        `${h}.${pl}.${sig}.`,
        token.toUpperCase(),
        payload.token, // the inner hex id alone
        ` ${token}x`,
    ]
    const before = p.messages().length
    for (const bad of forged) {
        const r = await publish(p, topic, bad, "x")
        assert.equal(r.json.code, 20003, bad)
        assert.equal(r.json.message, "check token error")
    }
    assert.equal(p.messages().length, before)
    assert.equal((await publish(p, topic, token, "x")).json.code, 0)
})

test("no event line, request record or answer shows a whole token; the auth record keeps it as before", async () => {
    events.length = 0
    const token = await authenticate(p, dev)
    const r = await publish(p, topic, token, "x")
    assert.equal(r.json.code, 0)
    const bad = await publish(p, topic, token.slice(0, -1), "x")
    assert.equal(bad.json.code, 20003)
    assert.equal(p.auths().at(-1)!.token, token)
    const shown = [
        ...events,
        JSON.stringify(p.requests()),
        JSON.stringify(p.messages().map(({ body, ...m }) => m)),
        r.text,
        bad.text,
    ].join("\n")
    assert.ok(events.length >= 3, events.join("\n"))
    // neither the payload (id and expiry) nor the signature appears
    for (const piece of token.split(".").slice(1))
        assert.ok(!shown.includes(piece.slice(-12)), "no token part shown")
})

test("tokenForm hex: 32 hex digits, expired after the TTL", async () => {
    let now = 1_800_000_000_000
    const q = await startPlatform({
        stateDir,
        adminPort: false,
        devices: [dev],
        tokenForm: "hex",
        tokenTtlSeconds: 60,
        now: () => now,
    })
    try {
        const token = await authenticate(q, dev)
        assert.match(token, /^[0-9a-f]{32}$/)
        assert.equal((await publish(q, topic, token, "1")).json.code, 0)
        now += 60_000
        assert.equal((await publish(q, topic, token, "1")).json.code, 20001)
    } finally {
        await q.close()
    }
    await assert.rejects(
        startPlatform({ stateDir, adminPort: false, tokenForm: "b64" as any }),
        /tokenForm must be one of jwt, hex/
    )
})

/** Runs the CLI until its banner, authenticates, returns the token. */
async function cliToken(args: string[]) {
    const cli = await startPlatformCli([
        "--port",
        "0",
        "--state",
        stateDir,
        "--quiet",
        "--device",
        `${dev.productKey}/${dev.deviceName}/${dev.deviceSecret}`,
        ...args,
    ])
    try {
        if (!cli.url) return { out: cli.output(), code: cli.exitCode() }
        const ca = readFileSync(cli.caFile, "utf8")
        return {
            token: await authenticate({ port: cli.port, ca }, dev),
            out: cli.output(),
        }
    } finally {
        await cli.stop()
    }
}

test("npm run platform: --token-form hex and jwt (the default); a wrong form is refused", async () => {
    assert.match(
        (await cliToken(["--token-form", "hex"])).token!,
        /^[0-9a-f]{32}$/
    )
    assert.equal((await cliToken([])).token!.length, 161)
    const bad = await cliToken(["--token-form", "base64"])
    assert.equal(bad.code, 2)
    assert.match(bad.out, /--token-form must be jwt or hex/)
})

const expireOf = (token: string) =>
    JSON.parse(b64url(token.split(".")[1])).expire as number
const HOUR_MS = 3600 * 1000

test("tokens live 7 days by default, as today's documents give them; 48 h is an option on the admin API", async () => {
    const now = 1_800_000_000_000
    const q = await startPlatform({ stateDir, devices: [dev], now: () => now })
    const admin = async (method: string, path: string, body?: unknown) => {
        const r = await fetch(`${q.adminUrl}${path}`, {
            method,
            headers: body ? { "Content-Type": "application/json" } : {},
            body: body === undefined ? undefined : JSON.stringify(body),
        })
        return { status: r.status, json: (await r.json()) as any }
    }
    try {
        assert.equal(
            expireOf(await authenticate(q, dev)),
            now + 7 * 24 * HOUR_MS
        )
        assert.deepEqual((await admin("GET", "/token-ttl")).json, {
            seconds: 7 * 24 * 3600,
        })
        // tokens issued from now on live 48 h; those issued before keep theirs
        const week = await authenticate(q, dev)
        assert.deepEqual(
            (await admin("POST", "/token-ttl", { seconds: 48 * 3600 })).json,
            { seconds: 48 * 3600 }
        )
        assert.equal(expireOf(await authenticate(q, dev)), now + 48 * HOUR_MS)
        assert.equal(expireOf(week), now + 7 * 24 * HOUR_MS)
        // a reset keeps the setting, as it keeps the devices
        q.reset()
        assert.equal(expireOf(await authenticate(q, dev)), now + 48 * HOUR_MS)
        for (const bad of [
            {},
            { seconds: -1 },
            { seconds: "48h" },
            { seconds: 1e12 },
        ]) {
            const r = await admin("POST", "/token-ttl", bad)
            assert.equal(r.status, 400, JSON.stringify(bad))
            assert.match(
                r.json.error,
                /seconds must be a number of seconds in 0\.\.315576000/
            )
        }
        assert.equal((await admin("GET", "/token-ttl")).json.seconds, 48 * 3600)
    } finally {
        await q.close()
    }
    const refused = startPlatform({
        stateDir,
        adminPort: false,
        tokenTtlSeconds: -5,
    })
    refused.then(
        r => r.close(),
        () => {}
    ) // closed again if it started
    await assert.rejects(refused, /tokenTtlSeconds must be a number of seconds/)
})

test("npm run platform: tokens live 7 days by default, --token-ttl 48h (or 7d, or seconds) sets it, a wrong one is refused", async () => {
    const lifeMs = async (args: string[]) => {
        const before = Date.now()
        const r = await cliToken(args)
        assert.ok(r.token, r.out)
        return { before, expire: expireOf(r.token!), after: Date.now() }
    }
    for (const [args, ms] of [
        [[], 7 * 24 * HOUR_MS],
        [["--token-ttl", "48h"], 48 * HOUR_MS],
        [["--token-ttl", "7d"], 7 * 24 * HOUR_MS],
        [["--token-ttl", "7200"], 2 * HOUR_MS],
    ] as const) {
        const l = await lifeMs([...args])
        assert.ok(
            l.expire >= l.before + ms && l.expire <= l.after + ms,
            `${args}: ${l.expire - l.before} ms`
        )
    }
    for (const v of ["2w", "48 h", "1.5h", "h", "99999999999"]) {
        const bad = await cliToken(["--token-ttl", v])
        assert.equal(bad.code, 2, bad.out)
        assert.match(
            bad.out,
            /--token-ttl must be seconds or a number with s, m, h or d/
        )
    }
})

// The emulator's TLS (local CA, certificate names, plain HTTP refused), its
// admin API over HTTP, and the `npm run platform` command line.
import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import http from "node:http"
import https from "node:https"
import tls from "node:tls"
import { spawn, execFile } from "node:child_process"
import { X509Certificate } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startPlatform, type Platform } from "../../host/platform/index.ts"
import {
    authenticate,
    publish,
    postAuth,
} from "../../host/testkit/platform-client.ts"
import { signedAuthBody } from "../../host/platform/signing.ts"
import { waitUntil } from "../../host/testkit/wait-until.ts"

/** How long a wait may take (generous: the machine is shared). */
const WAIT_MS = 60_000
import { startPlatformCli } from "./platform-cli-process.ts"

const root = join(import.meta.dirname, "../..")
const dev = {
    productKey: "a1AdminPK01",
    deviceName: "dev1",
    deviceSecret: "adminsecret123",
}
const stateDir = mkdtempSync(join(tmpdir(), "platform-tls-"))
let p: Platform

before(async () => {
    p = await startPlatform({ stateDir, devices: [dev] })
})
after(async () => {
    await p.close()
    rmSync(stateDir, { recursive: true, force: true })
})

function tlsConnect(o: tls.ConnectionOptions) {
    return new Promise<tls.TLSSocket>((resolve, reject) => {
        const s = tls.connect({ host: "127.0.0.1", port: p.port, ...o }, () =>
            resolve(s)
        )
        s.on("error", reject)
    })
}

async function admin(method: string, path: string, body?: unknown) {
    const res = await fetch(`${p.adminUrl}${path}`, {
        method,
        headers:
            method === "POST" ? { "Content-Type": "application/json" } : {},
        body: body === undefined ? undefined : JSON.stringify(body),
    })
    return { status: res.status, json: (await res.json()) as any }
}

test("the CA and server certificate are kept in the state folder", () => {
    assert.equal(p.caFile, join(stateDir, "tls", "ca.pem"))
    assert.equal(readFileSync(p.caFile, "utf8"), p.ca)
    const ca = new X509Certificate(p.ca)
    assert.ok(ca.ca)
})

test("the server certificate names 127.0.0.1 and localhost and is signed by the CA", async () => {
    for (const servername of ["localhost", undefined]) {
        const s = await tlsConnect({ ca: p.ca, servername })
        try {
            assert.ok(s.authorized)
            const cert = new X509Certificate(s.getPeerX509Certificate()!.raw)
            assert.match(cert.subjectAltName ?? "", /IP Address:127\.0\.0\.1/)
            assert.match(cert.subjectAltName ?? "", /DNS:localhost/)
            const ca = new X509Certificate(p.ca)
            assert.ok(cert.verify(ca.publicKey))
            assert.ok(cert.checkIssued(ca))
        } finally {
            s.destroy()
        }
    }
})

test("a client that does not trust the CA is refused", async () => {
    await assert.rejects(tlsConnect({}), (e: any) =>
        /UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|unable to get local issuer/i.test(
            e.code ?? e.message
        )
    )
})

test("a client trusting the CA through NODE_EXTRA_CA_CERTS is accepted", async () => {
    const script = `const https = require("node:https");
https.request({ host: "localhost", port: ${p.port}, path: "/auth", method: "POST", headers: { "Content-Type": "application/json" } },
  r => { let b = ""; r.on("data", d => b += d); r.on("end", () => console.log(b)) }).on("error", e => { console.log("ERR " + e.code); }).end("{}")`
    const out = await new Promise<string>((resolve, reject) =>
        execFile(
            process.execPath,
            ["-e", script],
            { env: { ...process.env, NODE_EXTRA_CA_CERTS: p.caFile } },
            (err, stdout) => (err ? reject(err) : resolve(stdout))
        )
    )
    assert.match(out, /"code":10001/)
})

test("a plain-HTTP request is refused", async () => {
    const before = p.stats().tlsErrors
    const requestsBefore = p.stats().requests
    const r = await new Promise<string>(resolve => {
        const req = http.request(
            { host: "127.0.0.1", port: p.port, path: "/auth", method: "POST" },
            res => resolve(`answered ${res.statusCode}`)
        )
        req.on("error", e => resolve(`error ${(e as any).code ?? e.message}`))
        req.end("{}")
    })
    assert.match(r, /^error /)
    // the server counts the failed handshake (it may log it just after)
    await waitUntil(
        () => p.stats().tlsErrors !== before,
        WAIT_MS,
        "the failed handshake to be counted",
        { pollMs: 50 }
    )
    assert.equal(p.stats().tlsErrors, before + 1)
    assert.equal(
        p.stats().requests,
        requestsBefore,
        "no request reached the channel"
    )
})

test("a second start on the same state folder reuses the CA", async () => {
    const q = await startPlatform({ stateDir, adminPort: false })
    try {
        assert.equal(q.ca, p.ca)
        assert.notEqual(q.port, p.port)
    } finally {
        await q.close()
    }
})

test("admin API: devices, auths, messages, requests, stats", async () => {
    p.reset()
    const root = await admin("GET", "/")
    assert.equal(root.json.url, p.url)
    assert.ok(root.json.routes.includes("POST /faults"))
    const devs = await admin("GET", "/devices")
    assert.deepEqual(devs.json, [
        { productKey: dev.productKey, deviceName: dev.deviceName },
    ])
    const added = await admin("POST", "/devices", {
        productKey: "a1AdminPK01",
        deviceName: "dev2",
        deviceSecret: "s2",
    })
    assert.deepEqual(added.json, {
        productKey: "a1AdminPK01",
        deviceName: "dev2",
    })
    assert.equal(
        (await admin("POST", "/devices", { device: "a1AdminPK01/dev3/s3" }))
            .status,
        200
    )
    assert.equal(
        (await admin("POST", "/devices", { productKey: "x" })).status,
        400
    )
    const tk2 = await authenticate(p, {
        productKey: "a1AdminPK01",
        deviceName: "dev2",
        deviceSecret: "s2",
    })
    await authenticate(p, {
        productKey: "a1AdminPK01",
        deviceName: "dev3",
        deviceSecret: "s3",
    })
    await postAuth(p, signedAuthBody({ ...dev, deviceSecret: "wrong" }))
    const auths = (await admin("GET", "/auths")).json
    assert.deepEqual(
        auths.map((a: any) => [a.deviceName, a.code]),
        [
            ["dev2", 0],
            ["dev3", 0],
            ["dev1", 20000],
        ]
    )
    assert.equal(auths[2].message, "auth check error")
    assert.match(auths[2].reason, /wrong signature/)
    assert.equal(
        (await admin("GET", `/auths?since=${auths[1].seq}`)).json.length,
        1
    )

    await publish(p, "/a1AdminPK01/dev2/user/update", tk2, "héllo")
    await publish(
        p,
        "/a1AdminPK01/dev2/user/update",
        tk2,
        Buffer.from([0xff, 0])
    )
    const msgs = (await admin("GET", "/messages")).json
    assert.equal(msgs.length, 2)
    assert.equal(msgs[0].utf8, "héllo")
    assert.equal(msgs[0].base64, Buffer.from("héllo").toString("base64"))
    assert.equal(typeof msgs[0].messageId, "string")
    assert.ok(BigInt(msgs[0].messageId) > 2n ** 53n)
    assert.equal(msgs[1].utf8, undefined)
    assert.equal(msgs[1].base64, "/wA=")
    assert.equal(msgs[0].topic, "/a1AdminPK01/dev2/user/update")
    assert.equal(msgs[0].deviceName, "dev2")
    assert.ok(!Number.isNaN(Date.parse(msgs[0].time)))

    const reqs = (await admin("GET", "/requests")).json
    assert.equal(reqs.length, 5)
    assert.deepEqual(
        reqs.map((r: any) => r.code),
        [0, 0, 20000, 0, 0]
    )
    const stats = (await admin("GET", "/stats")).json
    assert.equal(stats.requests, 5)
    assert.equal(stats.messages, 2)
    assert.deepEqual(stats.codes, { "0": 4, "20000": 1 })
    assert.equal(stats.tlsConnections, 5)

    assert.deepEqual(
        (
            await admin("POST", "/remove-device", {
                productKey: "a1AdminPK01",
                deviceName: "dev3",
            })
        ).json,
        { removed: true }
    )
    assert.equal((await admin("GET", "/devices")).json.length, 2)
})

test("admin API: faults, expire-token, clock, reset", async () => {
    const tk = await authenticate(p, dev)
    const f = await admin("POST", "/faults", { publishError: 1, latencyMs: 5 })
    assert.deepEqual(f.json, { latencyMs: 5, publishError: 1 })
    assert.deepEqual((await admin("GET", "/faults")).json, f.json)
    assert.equal(
        (await admin("POST", "/faults", { nonsense: true })).status,
        400
    )
    assert.equal(
        (await admin("POST", "/faults", { httpError: 418 })).status,
        400
    )
    assert.equal(
        (await publish(p, "/a1AdminPK01/dev1/user/update", tk, "x")).json.code,
        30001
    )

    assert.deepEqual(
        (
            await admin("POST", "/expire-token", {
                productKey: dev.productKey,
                deviceName: dev.deviceName,
            })
        ).json,
        { expired: 1 }
    )
    assert.equal(
        (await publish(p, "/a1AdminPK01/dev1/user/update", tk, "x")).json.code,
        20001
    )
    assert.equal((await admin("POST", "/expire-token", {})).status, 400)

    const c = await admin("POST", "/clock", { offsetMs: -3_600_000 })
    assert.ok(Math.abs(c.json.now - (Date.now() - 3_600_000)) < 60_000)
    const stale = await postAuth(
        p,
        signedAuthBody({ ...dev, timestamp: Date.now() })
    )
    assert.equal(stale.json.code, 20000)

    const tk2 = await authenticate(p, dev)
    assert.deepEqual((await admin("POST", "/reset")).json, { ok: true })
    assert.deepEqual((await admin("GET", "/faults")).json, { latencyMs: 0 })
    assert.equal((await admin("GET", "/stats")).json.requests, 0)
    assert.equal((await admin("GET", "/auths")).json.length, 0)
    assert.equal(
        (await postAuth(p, signedAuthBody({ ...dev, timestamp: Date.now() })))
            .json.code,
        0,
        "clock offset cleared"
    )
    assert.equal(
        (await publish(p, "/a1AdminPK01/dev1/user/update", tk2, "x")).json.code,
        0,
        "tokens kept"
    )
    await admin("POST", "/reset", { tokens: true })
    assert.equal(
        (await publish(p, "/a1AdminPK01/dev1/user/update", tk2, "x")).json.code,
        20003,
        "tokens dropped"
    )
    assert.equal((await admin("GET", "/nope")).status, 404)
})

test("npm run platform: the command line starts it, prints where the CA is, and stops on SIGTERM", async () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))
    assert.equal(pkg.scripts.platform, "tsx host/platform/cli.ts")
    const dir = mkdtempSync(join(tmpdir(), "platform-cli-"))
    const devicesFile = join(dir, "devices.json")
    writeFileSync(
        devicesFile,
        JSON.stringify([
            {
                productKey: "a1FilePrd01",
                deviceName: "file-d1",
                deviceSecret: "fileSecret",
            },
            "a1FilePrd01/file-d2/fileSecret2",
        ])
    )
    const child = spawn(
        process.execPath,
        [
            "--import",
            "tsx",
            "host/platform/cli.ts",
            "--port",
            "0",
            "--state",
            dir,
            "--device",
            "a1CliPrd001/cli-dev/cliSecret",
            "--devices",
            devicesFile,
        ],
        { cwd: root, stdio: ["ignore", "pipe", "pipe"] }
    )
    let out = ""
    child.stdout.on("data", d => (out += d))
    child.stderr.on("data", d => (out += d))
    const exited = new Promise<number | null>(r =>
        child.on("exit", code => r(code))
    )
    try {
        await waitUntil(
            () => {
                if (child.exitCode !== null)
                    assert.fail(`exited early:\n${out}`)
                return /admin API\s+(\S+)/.test(out) && /devices .*\n/.test(out)
            },
            WAIT_MS,
            "the emulator's banner",
            { pollMs: 50, detail: () => `:\n${out}` }
        )
        const url = /device channel\s+(https:\/\/127\.0\.0\.1:(\d+))/.exec(out)!
        const adminUrl = /admin API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]
        assert.match(
            out,
            new RegExp(
                `CA certificate\\s+${join(dir, "tls", "ca.pem").replace(/[.]/g, "\\.")}`
            )
        )
        assert.match(out, /NODE_EXTRA_CA_CERTS=/)
        const ca = readFileSync(join(dir, "tls", "ca.pem"), "utf8")
        const target = { port: Number(url[2]), ca }
        await authenticate(target, {
            productKey: "a1CliPrd001",
            deviceName: "cli-dev",
            deviceSecret: "cliSecret",
        })
        await authenticate(target, {
            productKey: "a1FilePrd01",
            deviceName: "file-d2",
            deviceSecret: "fileSecret2",
        })
        const devs = (await (
            await fetch(`${adminUrl}/devices`)
        ).json()) as any[]
        assert.deepEqual(devs.map(d => d.deviceName).sort(), [
            "cli-dev",
            "file-d1",
            "file-d2",
        ])
        await waitUntil(
            () => /auth a1FilePrd01\/file-d2 -> 0 success/.test(out),
            WAIT_MS,
            "the log line of d2's authentication",
            { pollMs: 50, detail: () => `:\n${out}` }
        )
        for (const secret of ["cliSecret", "fileSecret"])
            assert.ok(!out.includes(secret), "no secret printed")
    } finally {
        child.kill("SIGTERM")
        assert.equal(await exited, 0)
        rmSync(dir, { recursive: true, force: true })
    }
})

test("admin API: a device whose productKey or deviceName the platform would not issue is refused with the rule, and not added", async () => {
    const before = (await admin("GET", "/devices")).json
    for (const [body, re] of [
        [
            { productKey: "pk", deviceName: "device", deviceSecret: "s3cretA" },
            /productKey "pk" .* 11 letters or digits/,
        ],
        [
            { device: "a1AdminPK01/d1/s3cretB" },
            /deviceName "d1" .* 4 to 32 characters/,
        ],
        [
            {
                productKey: "a1AdminPK01",
                deviceName: "dev/1",
                deviceSecret: "s3cretC",
            },
            /deviceName "dev\/1"/,
        ],
    ] as const) {
        const r = await admin("POST", "/devices", body)
        assert.equal(r.status, 400, JSON.stringify(body))
        assert.match(r.json.error, re)
        assert.ok(!r.json.error.includes("s3cret"), "the secret is not echoed")
    }
    assert.deepEqual((await admin("GET", "/devices")).json, before)
})

test("npm run platform: --device and --devices refuse a productKey or deviceName the platform would not issue", async () => {
    const dir = mkdtempSync(join(tmpdir(), "platform-cli-ids-"))
    const file = join(dir, "devices.json")
    writeFileSync(
        file,
        JSON.stringify([
            {
                productKey: "a1FilePrd01",
                deviceName: "ok-device",
                deviceSecret: "s3cretF",
            },
            {
                productKey: "a1FilePrd01",
                deviceName: "no",
                deviceSecret: "s3cretG",
            },
        ])
    )
    try {
        for (const [args, re] of [
            [
                ["--device", "pk/dn/s3cretD"],
                /productKey "pk" .* 11 letters or digits/,
            ],
            [
                ["--device", "a1CliPrd001/dn/s3cretE"],
                /deviceName "dn" .* 4 to 32 characters/,
            ],
            [["--devices", file], /deviceName "no"/],
        ] as const) {
            const cli = await startPlatformCli([
                "--port",
                "0",
                "--state",
                dir,
                ...args,
            ])
            const code = await cli.stop()
            assert.equal(cli.url, "", "it did not start")
            assert.equal(code, 2, cli.output())
            assert.match(cli.output(), re)
            assert.ok(!cli.output().includes("s3cret"), cli.output())
        }
    } finally {
        rmSync(dir, { recursive: true, force: true })
    }
})

test("a client offering only TLS_RSA_WITH_AES_256_CBC_SHA256 over TLS 1.2, as Alibaba's SDKs (mbedtls, RSA key exchange) do, completes a handshake and an /auth", async () => {
    // the server certificate carries an RSA key: an ECDSA-only one would
    // leave these clients no cipher suite
    const leaf = new X509Certificate(
        readFileSync(join(stateDir, "tls", "server.pem"))
    )
    assert.equal(leaf.publicKey.asymmetricKeyType, "rsa")
    const reply = await new Promise<{
        cipher: tls.CipherNameAndProtocol
        json: any
    }>((resolve, reject) => {
        const body = JSON.stringify(signedAuthBody(dev))
        const req = https.request(
            {
                host: "127.0.0.1",
                port: p.port,
                path: "/auth",
                method: "POST",
                ca: p.ca,
                agent: false,
                ciphers: "AES256-SHA256",
                maxVersion: "TLSv1.2",
                headers: {
                    "Content-Type": "application/json",
                    "Content-Length": Buffer.byteLength(body),
                },
            },
            res => {
                const cipher = (res.socket as tls.TLSSocket).getCipher()
                const chunks: Buffer[] = []
                res.on("data", c => chunks.push(c))
                res.on("end", () =>
                    resolve({
                        cipher,
                        json: JSON.parse(Buffer.concat(chunks).toString()),
                    })
                )
                res.on("error", reject)
            }
        )
        req.on("error", reject)
        req.end(body)
    })
    assert.equal(reply.cipher.standardName, "TLS_RSA_WITH_AES_256_CBC_SHA256")
    assert.equal(reply.cipher.version, "TLSv1.2")
    assert.equal(reply.json.code, 0, JSON.stringify(reply.json))
    assert.ok(reply.json.info.token)
})

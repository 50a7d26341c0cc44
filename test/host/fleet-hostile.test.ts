// Hostile peers against the running service (`fleet serve` as a child
// process, so that its memory can be read and a crash would show): every
// malformed request or frame is refused with a status or a close code, the
// service goes on serving, unauthenticated peers are bounded and change no
// device record, the event log is bounded, the state is private.
import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import { randomBytes } from "node:crypto"
import { readdirSync, rmSync, statSync } from "node:fs"
import { connect, type Socket } from "node:net"
import { join } from "node:path"
import { spawnSync } from "node:child_process"
import { padImage } from "../../host/fleet/release/artifacts.ts"
import { FakeDevice } from "../../host/testkit/fake-device.ts"
import {
    Cmd,
    formatConnectionString,
    newDeviceKey,
} from "../../host/fleet/device/protocol.ts"
import { SqliteStore } from "../../host/fleet/store/sqlite.ts"
import {
    buildFleetApp,
    prepareServiceState,
    serveState,
    type ServiceProcess,
    type ServiceState,
} from "./fleet-helpers.ts"
import { encodeMaskedFrame, FrameDecoder } from "./raw-websocket.ts"
import { waitUntil } from "../../host/testkit/wait-until.ts"

/** How long a wait may take (generous: the machine is shared). */
const WAIT_MS = 30_000

const MAX_PENDING = 6
const MAX_PER_ADDRESS = 3
const HANDSHAKE_MS = 5000
const EVENTS_MAX = 40

let served: ServiceState
let state: string
let svc: ServiceProcess
let v1: Buffer
const key = newDeviceKey()

before(async () => {
    v1 = padImage(await buildFleetApp("v1"))
    served = await prepareServiceState("fleet-hostile-test-", {
        images: { v1 },
        devices: { d1: key },
        assigned: "v1",
    })
    state = served.state
    svc = await serveState(served, [
        "--max-pending",
        String(MAX_PENDING),
        "--max-pending-per-address",
        String(MAX_PER_ADDRESS),
        "--handshake-timeout-ms",
        String(HANDSHAKE_MS),
        "--events-max",
        String(EVENTS_MAX),
    ])
})

after(async () => {
    await svc?.stop()
    rmSync(served.dir, { recursive: true, force: true })
})

function connStr(k = key, path = "/wssk/d1") {
    return formatConnectionString({
        host: "127.0.0.1",
        port: svc.port,
        path,
        key: k,
    })
}

/** A legitimate device checks in: authenticated, asked for its hash. */
async function legitimateCheckIn() {
    const d = new FakeDevice({ connectionString: connStr(), program: v1 })
    const s = d.connect()
    const end = await s.ended
    assert.equal(end.authenticated, true, end.reason)
    assert.deepEqual(s.commands, [Cmd.GetHash])
}

/** Opens a TCP connection (optionally from another loopback address). */
async function open(localAddress?: string): Promise<Socket> {
    const sock = connect({ host: "127.0.0.1", port: svc.port, localAddress })
    await new Promise<void>((resolve, reject) => {
        sock.once("connect", resolve)
        sock.once("error", reject)
    })
    return sock
}

/** Everything the server sends until it closes the connection. */
function readAll(sock: Socket): Promise<Buffer> {
    return new Promise(resolve => {
        const parts: Buffer[] = []
        sock.on("data", d => parts.push(d))
        sock.on("error", () => {})
        sock.on("close", () => resolve(Buffer.concat(parts)))
    })
}

/** Sends raw bytes and returns the server's whole answer. */
async function exchange(text: string | Buffer): Promise<string> {
    const sock = await open()
    const answer = readAll(sock)
    sock.write(text)
    return (await answer).toString("latin1")
}

function upgradeText(path: string, extra = "") {
    return (
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n` +
        `Sec-WebSocket-Protocol: devs-key-${randomBytes(16).toString("hex")}\r\n${extra}\r\n`
    )
}

/**
 * An upgraded connection to d1 that has received the hello and not
 * authenticated: `closeCode` resolves with the code of the server's close
 * frame (undefined when it closed without one).
 */
async function upgraded() {
    const sock = await open()
    const dec = new FrameDecoder(false)
    let headers = Buffer.alloc(0)
    let upgradedYet = false
    let code: number | undefined
    let hello: () => void
    const gotHello = new Promise<void>(r => (hello = r))
    sock.on("data", (d: Buffer) => {
        if (!upgradedYet) {
            headers = Buffer.concat([headers, d])
            const end = headers.indexOf("\r\n\r\n")
            if (end < 0) return
            assert.match(headers.toString(), /^HTTP\/1.1 101/)
            upgradedYet = true
            d = headers.subarray(end + 4)
        }
        for (const f of dec.push(d)) {
            if (f.opcode === 0x2) hello()
            if (f.opcode === 0x8) code = f.payload.readUInt16BE(0)
        }
    })
    sock.on("error", () => {})
    const closed = new Promise<number | undefined>(r =>
        sock.on("close", () => r(code))
    )
    sock.write(upgradeText("/wssk/d1"))
    await gotHello
    return { sock, closeCode: closed }
}

test("malformed requests get 400 or 404 and the service goes on serving", async () => {
    const badPercent = await exchange(upgradeText("/wssk/%E0%A4%A"))
    assert.match(badPercent, /^HTTP\/1.1 400 .*\r\n[\s\S]*percent-encoding/)
    assert.match(await exchange(upgradeText("/admin")), /^HTTP\/1.1 404/)
    assert.match(
        await exchange(upgradeText("/wssk/..%2F..%2Fetc")),
        /^HTTP\/1.1 404/
    )
    assert.match(
        await exchange(
            upgradeText("/wssk/d1").replace(/Sec-WebSocket-Key: .*\r\n/, "")
        ),
        /^HTTP\/1.1 400/
    )
    assert.match(
        await exchange("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        /^HTTP\/1.1 404/
    )
    assert.match(
        await exchange(Buffer.from([0, 1, 2, 3, 0xff, 13, 10, 13, 10])),
        /^HTTP\/1.1 400/
    )
    await legitimateCheckIn()
    // logged at most once per peer per minute
    const refusals = svc.lines.filter(l =>
        /127\.0\.0\.1: (refused|bad request)/.test(l)
    )
    assert.equal(refusals.length, 1, refusals.join("\n"))
})

test("an unknown id, a missing or bad client nonce and a wrong key get one answer: the hello, then close 1008", async () => {
    const noNonce = (t: string) =>
        t.replace(/Sec-WebSocket-Protocol: .*\r\n/, "")
    const badNonce = (t: string) =>
        t.replace(/devs-key-[0-9a-f]+/, "devs-key-xyz")
    const answers = [
        await answerToAuth(upgradeText("/wssk/d1")), // a wrong key
        await answerToAuth(upgradeText("/wssk/nobody")),
        await answerToAuth(noNonce(upgradeText("/wssk/d1"))),
        await answerToAuth(badNonce(upgradeText("/wssk/d1"))),
        await answerToAuth(noNonce(upgradeText("/wssk/nobody"))),
    ]
    assert.match(
        answers[0],
        /^HTTP\/1.1 101 .*, hello 24 bytes, close 1008 authentication failed$/
    )
    for (const a of answers) assert.equal(a, answers[0])
    // nothing is counted for an id nobody registered
    const r = spawnSync(
        process.execPath,
        ["--import", "tsx", "host/fleet/cli.ts", "status", "--state", state],
        { encoding: "utf8", timeout: 60_000 }
    )
    assert.doesNotMatch(r.stdout, /nobody/)
    await legitimateCheckIn()
})

/**
 * Sends `request`, then an auth message no key opens; what the service
 * answers: its status line, the hello's size and the close code and reason.
 */
async function answerToAuth(request: string): Promise<string> {
    const sock = await open()
    const dec = new FrameDecoder(false)
    let head = Buffer.alloc(0)
    let status = ""
    const seen: string[] = []
    sock.on("error", () => {})
    const closed = new Promise<void>(r => sock.on("close", () => r()))
    sock.on("data", (d: Buffer) => {
        if (!status) {
            head = Buffer.concat([head, d])
            const end = head.indexOf("\r\n\r\n")
            if (end < 0) return
            status = head.subarray(0, head.indexOf("\r\n")).toString()
            d = head.subarray(end + 4)
        }
        for (const f of dec.push(d)) {
            if (f.opcode === 0x2) {
                seen.push(`hello ${f.payload.length} bytes`)
                sock.write(encodeMaskedFrame(0x2, randomBytes(36)))
            }
            if (f.opcode === 0x8)
                seen.push(
                    `close ${f.payload.readUInt16BE(0)} ${f.payload.subarray(2)}`
                )
        }
    })
    sock.write(request)
    await closed
    return [status, ...seen].join(", ")
}

test("RSV bits, reserved opcodes, unmasked and text frames are refused with a close code", async () => {
    const cases: [string, Buffer, number][] = [
        ["RSV1", setBits(encodeMaskedFrame(0x2, Buffer.alloc(8)), 0x40), 1002],
        ["RSV3", setBits(encodeMaskedFrame(0x2, Buffer.alloc(8)), 0x10), 1002],
        ["opcode 0x3", encodeMaskedFrame(0x3, Buffer.alloc(8)), 1002],
        ["opcode 0xB", encodeMaskedFrame(0xb, Buffer.alloc(0)), 1002],
        ["unmasked", Buffer.from([0x82, 0x02, 1, 2]), 1002],
        ["text", encodeMaskedFrame(0x1, Buffer.from("hello")), 1003],
        ["too big", encodeMaskedFrame(0x2, Buffer.alloc(271)), 1009],
    ]
    for (const [name, frame, expected] of cases) {
        const c = await upgraded()
        c.sock.write(frame)
        assert.equal(await c.closeCode, expected, name)
    }
    await legitimateCheckIn()
})

function setBits(frame: Buffer, bits: number) {
    frame[0] |= bits
    return frame
}

test("no fragmented message is accepted: the second fragment closes the connection (1008)", async () => {
    const c = await upgraded()
    c.sock.write(notFin(encodeMaskedFrame(0x2, Buffer.alloc(100))))
    c.sock.write(notFin(encodeMaskedFrame(0x0, Buffer.alloc(100))))
    assert.equal(await c.closeCode, 1008)
})

function notFin(frame: Buffer) {
    frame[0] &= 0x7f
    return frame
}

test("a 48 MB pre-auth fragment flood grows the service's memory by less than 10 MB", async () => {
    const total = 48 * 1024 * 1024
    const perConnection = 1024 * 1024
    // 125-byte fragments without FIN, as many as fit in 1 MB, per connection
    const fragment = notFin(encodeMaskedFrame(0x0, Buffer.alloc(125, 0x55)))
    const burst = Buffer.concat([
        notFin(encodeMaskedFrame(0x2, Buffer.alloc(125, 0x55))),
        ...Array(Math.floor(perConnection / fragment.length) - 1).fill(
            fragment
        ),
    ])
    const floodOnce = async () => {
        const c = await upgraded()
        c.sock.write(burst, () => {})
        return c.closeCode
    }
    // warm-up: the first connections of each kind cost their code paths once
    await legitimateCheckIn()
    for (let i = 0; i < 3; i++) await floodOnce()
    const before = svc.rss()
    let peak = before
    const sampler = setInterval(() => (peak = Math.max(peak, svc.rss())), 20)
    let offered = 0
    let connections = 0
    const codes = new Map<number | undefined, number>()
    try {
        const worker = async () => {
            while (offered < total) {
                offered += burst.length
                connections++
                const code = await floodOnce()
                codes.set(code, (codes.get(code) ?? 0) + 1)
            }
        }
        await Promise.all(Array.from({ length: MAX_PER_ADDRESS - 1 }, worker))
    } finally {
        clearInterval(sampler)
    }
    peak = Math.max(peak, svc.rss())
    const growth = peak - before
    console.log(
        `flood: ${(offered / 2 ** 20).toFixed(0)} MB offered over ${connections} connections; ` +
            `close codes ${JSON.stringify([...codes])}; RSS before ${(before / 2 ** 20).toFixed(1)} MB, ` +
            `peak ${(peak / 2 ** 20).toFixed(1)} MB, growth ${(growth / 2 ** 20).toFixed(1)} MB`
    )
    assert.ok(growth < 10 * 2 ** 20, `RSS grew by ${growth} bytes`)
    assert.ok((codes.get(1008) ?? 0) > 0, "refused as too many fragments")
    await legitimateCheckIn()
})

test("an address at its share of unauthenticated connections replaces its own oldest; it is never refused", async () => {
    const held: Socket[] = []
    try {
        for (let i = 0; i < MAX_PER_ADDRESS; i++) held.push(await open())
        const closed = held.map(whenClosed)
        // one more from the same address (a NAT): admitted, its oldest goes
        const extra = await open()
        held.push(extra)
        const answer = readAll(extra)
        assert.equal(
            await within(closed[0], "its oldest to be closed"),
            "",
            "closed to make room, not timed out"
        )
        extra.write(upgradeText("/wssk/d1"))
        await within(
            new Promise<void>(r => extra.once("data", () => r())),
            "an answer"
        )
        for (const c of closed.slice(1))
            assert.equal(await Promise.race([c, "open"]), "open")
        extra.destroy()
        assert.doesNotMatch((await answer).toString(), /^HTTP\/1.1 503/)
    } finally {
        for (const s of held) s.destroy()
    }
})

test("a full table closes the oldest unauthenticated connection of the address holding the most: a device on another address checks in", async () => {
    const held: Socket[] = []
    try {
        // 127.0.0.2 holds 3, 127.0.0.3 holds 2, 127.0.0.4 holds 1: full
        for (const [addr, n] of [
            ["127.0.0.2", 3],
            ["127.0.0.3", 2],
            ["127.0.0.4", 1],
        ] as const)
            for (let i = 0; i < n; i++) held.push(await open(addr))
        const closed = held.map(whenClosed)
        const d = new FakeDevice({
            connectionString: connStr(),
            program: v1,
            localAddress: "127.0.0.9",
        })
        const end = await within(d.connect().ended, "the device's check-in")
        assert.equal(end.authenticated, true, end.reason)
        // the device took one place: the oldest of the biggest holder's
        assert.equal(
            await within(closed[0], "the oldest of 127.0.0.2 to be closed"),
            "",
            "closed to make room, not timed out"
        )
        for (const c of closed.slice(1))
            assert.equal(await Promise.race([c, "open"]), "open")
    } finally {
        for (const s of held) s.destroy()
    }
})

/** `p`, or a failure after `ms` (generous: a busy machine). */
function within<T>(p: Promise<T>, what: string, ms = 30_000): Promise<T> {
    let timer: NodeJS.Timeout
    return Promise.race([
        p,
        new Promise<never>((_, reject) => {
            timer = setTimeout(
                () => reject(new Error(`timed out waiting for ${what}`)),
                ms
            )
        }),
    ]).finally(() => clearTimeout(timer))
}

/**
 * Resolves when the server closes `sock`, with what it sent: "" for a
 * connection closed to make room (a timed-out one gets a 408).
 */
function whenClosed(sock: Socket): Promise<string> {
    return readAll(sock).then(b => b.toString("latin1"))
}

test("a connection that does not finish its handshake in time is closed (408, or close code 1008)", async () => {
    const silent = await open()
    const answer = readAll(silent)
    const c = await upgraded() // upgraded, never sends the auth message
    assert.match((await answer).toString(), /^HTTP\/1.1 408/)
    assert.equal(await c.closeCode, 1008)
})

test("failed handshakes change no device record; status shows them from memory", async () => {
    const db = new SqliteStore(join(state, "fleet.db"))
    const snapshot = () => ({
        state: db.db
            .prepare("SELECT json FROM device_state WHERE id = 'd1'")
            .get(),
        device: db.db.prepare("SELECT * FROM devices").all(),
        events: db.db.prepare("SELECT * FROM events").all(),
    })
    try {
        const beforeRows = snapshot()
        for (let i = 0; i < 20; i++) {
            const thief = new FakeDevice({
                connectionString: connStr(newDeviceKey()),
                program: v1,
            })
            assert.equal((await thief.connect().ended).authenticated, false)
        }
        assert.deepEqual(snapshot(), beforeRows)
    } finally {
        await db.close()
    }
    const r = spawnSync(
        process.execPath,
        ["--import", "tsx", "host/fleet/cli.ts", "status", "--state", state],
        { encoding: "utf8", timeout: 60_000 }
    )
    // 20 wrong keys here, plus earlier refusals of d1 before authentication
    const m = /(\d+) failed handshakes in the last hour/.exec(r.stdout)
    assert.ok(m && Number(m[1]) >= 20, r.stdout + r.stderr)
    assert.match(r.stdout, /wrong key/)
})

test("the event log stays within --events-max", async () => {
    // a check-in is no event; a device holding its key writes one with
    // each exception report it sends: twice the limit is written
    for (let i = 0; i < 2 * EVENTS_MAX; i++) {
        const d = new FakeDevice({ connectionString: connStr(), program: v1 })
        const end = await d.connect({
            onOpen: send =>
                send(Cmd.ExceptionReport, Buffer.from(`! report ${i}\n`)),
        }).ended
        assert.equal(end.authenticated, true, end.reason)
    }
    const db = new SqliteStore(join(state, "fleet.db"))
    try {
        await waitUntil(
            async () =>
                (await db.events(1)).some(e =>
                    e.detail.includes(`report ${2 * EVENTS_MAX - 1}`)
                ),
            30_000,
            "the last report recorded"
        )
        assert.ok(
            (await db.eventCount()) <= EVENTS_MAX,
            `${await db.eventCount()} rows`
        )
        assert.ok((await db.eventCount()) >= EVENTS_MAX - 2)
    } finally {
        await db.close()
    }
})

test("state files are private: directory 0700, database, WAL, artifacts and control socket 0600", () => {
    const mode = (p: string) => statSync(p).mode & 0o777
    assert.equal(mode(state), 0o700)
    assert.equal(mode(join(state, "artifacts")), 0o700)
    for (const f of readdirSync(join(state, "artifacts")))
        assert.equal(mode(join(state, "artifacts", f)), 0o600, f)
    const files = readdirSync(state)
    for (const f of [
        "fleet.db",
        "fleet.db-wal",
        "fleet.db-shm",
        "service.sock",
    ]) {
        assert.ok(files.includes(f), f)
        assert.equal(mode(join(state, f)), 0o600, f)
    }
})

test("after all that, the service process is still the one that started", async () => {
    assert.equal(
        await Promise.race([svc.exited, Promise.resolve("running")]),
        "running"
    )
    await legitimateCheckIn()
})

/**
 * The DeviceScript runtime's cloud ("WSSK") device protocol, as its C client
 * implements it (devicescript runtime `network/wssk.c`, `wssk_health.c`,
 * `websock_conn.c`; measured against @devicescript/cli 2.16.4's simulator):
 *
 * 1. The device opens a plain websocket to the path of its connection string
 *    with `Sec-WebSocket-Protocol: devs-key-<32 hex>` (a 16-byte client nonce).
 *    It does not check `Sec-WebSocket-Accept`.
 * 2. The server sends an unencrypted hello: magic, version, 16-byte seed.
 * 3. Both sides derive the session key with HKDF-SHA256 (no salt) from the
 *    device's 32-byte master key, info = client nonce ‖ seed.
 * 4. Every later message is AES-256-CCM, 13-byte nonce, 4-byte tag, no AAD;
 *    the device's nonces start at 01 00…, the server's at 02 00…, each
 *    incremented (big-endian) per message.
 * 5. The device proves its key with 32 encrypted zero bytes; the server
 *    answers the same way (the device refuses the server otherwise).
 * 6. Then messages are `cmd byte ‖ payload` ({@link Cmd}).
 */
import {
    createCipheriv,
    createDecipheriv,
    hkdfSync,
    randomBytes,
} from "node:crypto"

/** Hello magic (little-endian u32). */
export const HELLO_MAGIC = 0xcee428ca
/** Protocol version the runtime requires. */
export const HELLO_VERSION = 2
export const KEY_BYTES = 32
export const NONCE_BYTES = 13
export const TAG_BYTES = 4
/** The client nonce in the websocket protocol header, bytes. */
export const CLIENT_NONCE_BYTES = 16
/** Size of the auth message before encryption (all zero). */
export const AUTH_BYTES = 32
/**
 * Largest websocket message the device can receive: its frame buffer holds
 * 270 bytes including the 2-4 byte frame header.
 */
export const MAX_DEVICE_MESSAGE = 266
/**
 * Largest websocket message either side of the protocol ever carries: the
 * runtime's websocket layer (`network/websock_conn.c`, `MAX_MESSAGE`) keeps
 * one message, frame header included, in a 270-byte buffer, and its own
 * largest send is a Dmesg or ExceptionReport of up to 256 bytes
 * (`wssk_health.c`, `DMESG_BUF_SIZE`) plus the command byte and the 4-byte
 * tag: 261. It never fragments (every frame it sends has FIN set). The
 * service refuses any message larger than this.
 */
export const MAX_WS_MESSAGE = 270
/** DeployWrite payloads must be multiples of this. */
export const DEPLOY_ALIGN = 32
/** Bytes per DeployWrite: 1 cmd + 192 + 4 tag fits the device's buffer. */
export const DEPLOY_CHUNK = 192
/**
 * DeployWrites sent before their answers arrive. The runtime handles every
 * frame of a socket read in turn (`websock_conn.c` keeps the rest of a read
 * for the next frame; the ESP32 build reads 1 KiB at a time and queues up to
 * 50 socket writes) and answers each, in order; 8 chunks (1.6 KB) stay within
 * a TCP receive window of lwIP's default 5.7 KB. Stop-and-wait would cost a
 * round trip per 192 bytes: 426 of them for an 80 KB image.
 */
export const DEPLOY_WINDOW = 8

/** Commands (jacdac `wssk` service spec). */
export const Cmd = {
    Error: 0xff,
    SetStreaming: 0x90,
    PingDevice: 0x91,
    PingCloud: 0x92,
    GetHash: 0x93,
    DeployStart: 0x94,
    DeployWrite: 0x95,
    DeployFinish: 0x96,
    C2d: 0x97,
    D2c: 0x98,
    JacdacPacket: 0x99,
    Dmesg: 0x9a,
    ExceptionReport: 0x9b,
} as const

/** Command name for logs. */
export function cmdName(cmd: number): string {
    for (const [k, v] of Object.entries(Cmd)) if (v === cmd) return k
    return `0x${cmd.toString(16)}`
}

/** Streaming bits for SetStreaming. */
export const Streaming = { Jacdac: 1, Dmesg: 2, Exceptions: 0x100 } as const

/** A parsed connection string: `ws://wssk:<64 hex key>@host:port/path`. */
export interface ConnectionString {
    tls: boolean
    host: string
    port: number
    path: string
    key: Buffer
}

/** Builds the connection string the runtime parses (setting `wssk_connstr`). */
export function formatConnectionString(c: {
    host: string
    port: number
    path: string
    key: Buffer
    tls?: boolean
}): string {
    if (c.key.length !== KEY_BYTES) throw new RangeError("key: 32 bytes")
    if (!c.path.startsWith("/")) throw new RangeError("path must start with /")
    return `${c.tls ? "wss" : "ws"}://wssk:${c.key.toString("hex")}@${c.host}:${c.port}${c.path}`
}

/** Parses a connection string with the runtime's rules; throws RangeError. */
export function parseConnectionString(s: string): ConnectionString {
    const m =
        /^(wss?):\/\/(?:wssk:)?([0-9a-fA-F]{64})@([^:/@]+)(?::(\d+))?(\/.*)$/.exec(
            s
        )
    if (!m) throw new RangeError("not a ws://wssk:KEY@host:port/path string")
    const tls = m[1] === "wss"
    const port = m[4] ? Number(m[4]) : tls ? 443 : 80
    if (port <= 1 || port > 0xffff) throw new RangeError("bad port")
    return { tls, host: m[3], port, path: m[5], key: Buffer.from(m[2], "hex") }
}

/** A fresh random device master key. */
export function newDeviceKey(): Buffer {
    return randomBytes(KEY_BYTES)
}

/** The unencrypted hello: magic, version (u32 LE each), 16-byte seed. */
export function encodeHello(seed: Buffer): Buffer {
    const b = Buffer.alloc(8 + seed.length)
    b.writeUInt32LE(HELLO_MAGIC, 0)
    b.writeUInt32LE(HELLO_VERSION, 4)
    seed.copy(b, 8)
    return b
}

/** Parses a hello; undefined if it is not one the runtime would accept. */
export function decodeHello(b: Buffer): Buffer | undefined {
    if (b.length < 8 + CLIENT_NONCE_BYTES) return undefined
    if (b.readUInt32LE(0) !== HELLO_MAGIC) return undefined
    if (b.readUInt32LE(4) !== HELLO_VERSION) return undefined
    return b.subarray(8, 8 + CLIENT_NONCE_BYTES)
}

/** Session key: HKDF-SHA256, empty salt, info = client nonce ‖ seed. */
export function sessionKey(
    masterKey: Buffer,
    clientNonce: Buffer,
    seed: Buffer
): Buffer {
    return Buffer.from(
        hkdfSync(
            "sha256",
            masterKey,
            Buffer.alloc(0),
            Buffer.concat([clientNonce, seed]),
            KEY_BYTES
        )
    )
}

/** A direction's nonce counter: first byte `start`, big-endian increment. */
export class NonceCounter {
    private readonly n = Buffer.alloc(NONCE_BYTES)
    constructor(start: number) {
        this.n[0] = start
    }
    /** The current nonce; advances the counter. */
    next(): Buffer {
        const cur = Buffer.from(this.n)
        for (let i = NONCE_BYTES - 1; i >= 0; i--) {
            if (this.n[i] < 0xff) {
                this.n[i]++
                break
            }
            this.n[i] = 0
        }
        return cur
    }
}

/** AES-256-CCM encrypt: ciphertext ‖ 4-byte tag. */
export function seal(key: Buffer, nonce: Buffer, plain: Buffer): Buffer {
    const c = createCipheriv("aes-256-ccm", key, nonce, {
        authTagLength: TAG_BYTES,
    })
    // in this order: the tag exists once final() has run
    return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()])
}

/** AES-256-CCM decrypt of ciphertext ‖ tag; undefined when the tag is wrong. */
export function open(
    key: Buffer,
    nonce: Buffer,
    msg: Buffer
): Buffer | undefined {
    if (msg.length < TAG_BYTES + 1) return undefined
    const body = msg.subarray(0, msg.length - TAG_BYTES)
    const tag = msg.subarray(msg.length - TAG_BYTES)
    try {
        const d = createDecipheriv("aes-256-ccm", key, nonce, {
            authTagLength: TAG_BYTES,
        })
        d.setAuthTag(tag)
        return Buffer.concat([d.update(body), d.final()])
    } catch {
        return undefined
    }
}

/**
 * One side of an established session: seals outgoing and opens incoming
 * messages with the right nonce sequence.
 */
export class SecureChannel {
    private readonly tx: NonceCounter
    private readonly rx: NonceCounter
    constructor(
        readonly key: Buffer,
        readonly side: "server" | "device"
    ) {
        this.tx = new NonceCounter(side === "server" ? 2 : 1)
        this.rx = new NonceCounter(side === "server" ? 1 : 2)
    }
    seal(plain: Buffer): Buffer {
        return seal(this.key, this.tx.next(), plain)
    }
    /** Undefined when the message was not sealed with this session's key. */
    open(msg: Buffer): Buffer | undefined {
        return open(this.key, this.rx.next(), msg)
    }
}

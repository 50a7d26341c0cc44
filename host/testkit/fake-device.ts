/**
 * A protocol-level fake device for tests: speaks the runtime's cloud
 * protocol as its C client does (websock_conn.c, wssk.c, wssk_health.c),
 * including its deploy rules: DeployStart erases the program and needs a
 * size that is a multiple of 32, each DeployWrite a multiple of 32 within
 * that size, DeployFinish checks every byte arrived; GetHash is SHA-256 of
 * the program (zeros when there is none).
 */
import { createHash, randomBytes } from "node:crypto"
import {
    AUTH_BYTES,
    Cmd,
    decodeHello,
    DEPLOY_ALIGN,
    MAX_DEVICE_MESSAGE,
    parseConnectionString,
    SecureChannel,
    sessionKey,
} from "../fleet/index.ts"
import { CLOSE_ABNORMAL, connectWebSocket } from "../lib/websocket-client.ts"

export interface FakeDeviceOptions {
    /** The connection string (its key may be replaced by `key`). */
    connectionString: string
    /** Use this key instead of the connection string's (a wrong-key device). */
    key?: Buffer
    /** The program it runs. */
    program: Buffer
    /** Local address to connect from (default: the system's choice). */
    localAddress?: string
    /** CA certificates the service's `wss://` chain must lead to. */
    ca?: string | Buffer
}

/** What happened on one connection. */
export interface FakeSession {
    /** Commands received, by name order. */
    commands: number[]
    /** Resolves when the connection ends, with whether auth succeeded. */
    ended: Promise<{ authenticated: boolean; reason: string }>
    /** Drops the connection (no close frame, as a device that resets). */
    drop(): void
}

export class FakeDevice {
    program: Buffer
    /** Bytes of a deploy in progress (null when none). */
    private incoming: Buffer | null = null
    private written = 0
    /** Programs installed over the network, in order. */
    readonly installed: string[] = []

    constructor(readonly options: FakeDeviceOptions) {
        this.program = options.program
    }

    /** The hash of `program`, computed once per program installed. */
    private hashed?: { program: Buffer; hex: string }

    hash(): string {
        if (this.hashed?.program === this.program) return this.hashed.hex
        const hex =
            this.program.length === 0
                ? "00".repeat(32)
                : createHash("sha256").update(this.program).digest("hex")
        this.hashed = { program: this.program, hex }
        return hex
    }

    /** Connects once, like the runtime's reconnect, and runs until the server closes. */
    connect(
        opts: {
            onOpen?: (send: (cmd: number, p?: Buffer) => void) => void
            /** Called after each command from the service was handled (and answered). */
            onCommand?: (
                cmd: number,
                payload: Buffer,
                send: (cmd: number, p?: Buffer) => void
            ) => void
            /** Connect with this string instead (another service instance). */
            connectionString?: string
            /** On receiving this command, drop the connection (a lost network). */
            dropOn?: number
            /** From this command on, answer nothing (a hung connection). */
            stallOn?: number
        } = {}
    ): FakeSession {
        const cs = parseConnectionString(
            opts.connectionString ?? this.options.connectionString
        )
        const key = this.options.key ?? cs.key
        const clientNonce = randomBytes(16)
        const commands: number[] = []
        let authenticated = false
        let stalled = false
        let channel: SecureChannel | undefined
        let finish!: (reason: string) => void
        const ended = new Promise<{ authenticated: boolean; reason: string }>(
            resolve => {
                let done = false
                finish = reason => {
                    if (done) return
                    done = true
                    ws.terminate()
                    resolve({ authenticated, reason })
                }
            }
        )
        const sendRaw = (b: Buffer) => ws.send(b, { binary: true })
        const send = (cmd: number, p: Buffer = Buffer.alloc(0)) =>
            sendRaw(channel!.seal(Buffer.concat([Buffer.from([cmd]), p])))
        const onMessage = (m: Buffer, binary: boolean) => {
            if (!binary) return
            if (m.length > MAX_DEVICE_MESSAGE) return finish("chunk overflow")
            if (!channel) {
                const seed = decodeHello(m)
                if (!seed) return finish("bad hello")
                channel = new SecureChannel(
                    sessionKey(key, clientNonce, seed),
                    "device"
                )
                sendRaw(channel.seal(Buffer.alloc(AUTH_BYTES)))
                return
            }
            const msg = channel.open(m)
            if (!msg) return finish("tag error")
            if (!authenticated) {
                if (msg.length !== AUTH_BYTES || msg.some(b => b !== 0))
                    return finish("auth non-0")
                authenticated = true
                opts.onOpen?.(send)
                return
            }
            commands.push(msg[0])
            if (msg[0] === opts.dropOn) return finish("dropped")
            if (msg[0] === opts.stallOn) stalled = true
            if (stalled) return
            this.handle(msg[0], msg.subarray(1), send)
            opts.onCommand?.(msg[0], msg.subarray(1), send)
        }
        const url = `${cs.tls ? "wss" : "ws"}://${cs.host}:${cs.port}${cs.path}`
        const { ws, opened } = connectWebSocket(url, {
            protocols: [`devs-key-${clientNonce.toString("hex")}`],
            localAddress: this.options.localAddress,
            ca: this.options.ca,
            onMessage,
            onClose: code =>
                finish(
                    code === CLOSE_ABNORMAL
                        ? "connection closed"
                        : "closed by server"
                ),
            onError: e => finish(`error: ${e.message}`),
        })
        opened.catch(e => finish((e as Error).message))
        return { commands, ended, drop: () => finish("dropped by the device") }
    }

    private handle(
        cmd: number,
        p: Buffer,
        send: (cmd: number, p?: Buffer) => void
    ) {
        const ok = (r: boolean) => send(r ? cmd : Cmd.Error)
        switch (cmd) {
            case Cmd.GetHash:
                send(cmd, Buffer.from(this.hash(), "hex"))
                break
            case Cmd.DeployStart: {
                const size = p.readUInt32LE(0)
                if (size % DEPLOY_ALIGN) return ok(false)
                this.program = Buffer.alloc(0) // the old program is erased here
                this.incoming = Buffer.alloc(size)
                this.written = 0
                ok(true)
                break
            }
            case Cmd.DeployWrite: {
                const inc = this.incoming
                if (
                    !inc ||
                    p.length % DEPLOY_ALIGN ||
                    this.written + p.length > inc.length
                ) {
                    this.incoming = null
                    return ok(false)
                }
                p.copy(inc, this.written)
                this.written += p.length
                ok(true)
                break
            }
            case Cmd.DeployFinish: {
                const inc = this.incoming
                if (!inc || this.written !== inc.length) return ok(false)
                this.program = inc
                this.incoming = null
                this.installed.push(this.hash())
                ok(true)
                break
            }
            case Cmd.PingDevice:
                send(cmd)
                break
            case Cmd.PingCloud: // the service's answer to our ping
                break
            case Cmd.SetStreaming:
                break
            default:
                send(Cmd.Error)
        }
    }
}

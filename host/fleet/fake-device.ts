/**
 * A protocol-level fake device for tests: speaks the runtime's cloud
 * protocol as its C client does (websock_conn.c, wssk.c, wssk_health.c),
 * including its deploy rules: DeployStart erases the program and needs a
 * size that is a multiple of 32, each DeployWrite a multiple of 32 within
 * that size, DeployFinish checks every byte arrived; GetHash is SHA-256 of
 * the program (zeros when there is none).
 */
import { connect, type Socket } from "node:net"
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
} from "./protocol.ts"
import { encodeMaskedFrame, FrameDecoder } from "./websocket.ts"

export interface FakeDeviceOptions {
    /** The connection string (its key may be replaced by `key`). */
    connectionString: string
    /** Use this key instead of the connection string's (a wrong-key device). */
    key?: Buffer
    /** The program it runs. */
    program: Buffer
}

/** What happened on one connection. */
export interface FakeSession {
    /** Commands received, by name order. */
    commands: number[]
    /** Resolves when the connection ends, with whether auth succeeded. */
    ended: Promise<{ authenticated: boolean; reason: string }>
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

    hash(): string {
        if (this.program.length === 0) return "00".repeat(32)
        return createHash("sha256").update(this.program).digest("hex")
    }

    /** Connects once, like the runtime's reconnect, and runs until the server closes. */
    connect(
        opts: {
            onOpen?: (send: (cmd: number, p?: Buffer) => void) => void
        } = {}
    ): FakeSession {
        const cs = parseConnectionString(this.options.connectionString)
        const key = this.options.key ?? cs.key
        const clientNonce = randomBytes(16)
        const sock: Socket = connect({ host: cs.host, port: cs.port })
        const commands: number[] = []
        let authenticated = false
        let channel: SecureChannel | undefined
        let headersDone = false
        let acc = Buffer.alloc(0)
        const dec = new FrameDecoder(false)
        const sendRaw = (b: Buffer) =>
            sock.write(encodeMaskedFrame(0x2, b, randomBytes(4)))
        const send = (cmd: number, p: Buffer = Buffer.alloc(0)) =>
            sendRaw(channel!.seal(Buffer.concat([Buffer.from([cmd]), p])))
        const ended = new Promise<{ authenticated: boolean; reason: string }>(
            resolve => {
                let done = false
                const finish = (reason: string) => {
                    if (done) return
                    done = true
                    sock.destroy()
                    resolve({ authenticated, reason })
                }
                sock.on("connect", () => {
                    sock.write(
                        `GET ${cs.path} HTTP/1.1\r\nHost: ${cs.host}\r\nSec-WebSocket-Key: ${randomBytes(11).toString("hex")}==\r\n` +
                            `Sec-WebSocket-Protocol: devs-key-${clientNonce.toString("hex")}\r\nUpgrade: websocket\r\n` +
                            "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n"
                    )
                })
                sock.on("data", (d: Buffer) => {
                    if (!headersDone) {
                        acc = Buffer.concat([acc, d])
                        const end = acc.indexOf("\r\n\r\n")
                        if (end < 0) return
                        if (
                            !acc
                                .subarray(0, 12)
                                .toString()
                                .startsWith("HTTP/1.1 101")
                        )
                            return finish(
                                `refused: ${acc.subarray(0, acc.indexOf("\r\n")).toString()}`
                            )
                        headersDone = true
                        d = acc.subarray(end + 4)
                    }
                    let frames
                    try {
                        frames = dec.push(d)
                    } catch (e) {
                        return finish(`bad frame: ${(e as Error).message}`)
                    }
                    for (const f of frames) {
                        if (f.opcode === 0x8) return finish("closed by server")
                        if (f.opcode !== 0x2) continue
                        if (f.payload.length > MAX_DEVICE_MESSAGE)
                            return finish("chunk overflow")
                        if (!channel) {
                            const seed = decodeHello(f.payload)
                            if (!seed) return finish("bad hello")
                            channel = new SecureChannel(
                                sessionKey(key, clientNonce, seed),
                                "device"
                            )
                            sendRaw(channel.seal(Buffer.alloc(AUTH_BYTES)))
                            continue
                        }
                        const msg = channel.open(f.payload)
                        if (!msg) return finish("tag error")
                        if (!authenticated) {
                            if (
                                msg.length !== AUTH_BYTES ||
                                msg.some(b => b !== 0)
                            )
                                return finish("auth non-0")
                            authenticated = true
                            opts.onOpen?.(send)
                            continue
                        }
                        commands.push(msg[0])
                        this.handle(msg[0], msg.subarray(1), send)
                    }
                })
                sock.on("close", () => finish("connection closed"))
                sock.on("error", e => finish(`error: ${e.message}`))
            }
        )
        return { commands, ended }
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
            case Cmd.SetStreaming:
                break
            default:
                send(Cmd.Error)
        }
    }
}

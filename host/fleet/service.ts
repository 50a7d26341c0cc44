/**
 * The fleet deployment service: devices connect with their connection
 * string (runtime cloud protocol, see protocol.ts), the service asks for
 * their program hash, deploys the version their rollout assigns when it
 * differs, verifies it, and records every device's state. Plain websocket
 * (`ws://`) or, with a certificate, TLS (`wss://`).
 *
 * Schedule: the device has one socket, shared with its program. The
 * service therefore keeps a connection only while it has work (hash check,
 * deploy, verification) plus `holdMs`, then closes it; the runtime
 * reconnects by itself about 32 s after the last message it received, and
 * its program uses the socket in between.
 *
 * Hostile peers: every request that is not a well-formed upgrade for a
 * registered device is refused with an HTTP status; every bad frame closes
 * the websocket with a code (the `ws` package enforces RFC 6455: masking,
 * RSV bits, opcodes, control frames); messages are limited to the
 * protocol's largest ({@link MAX_WS_MESSAGE}) and are never fragmented;
 * unauthenticated connections are capped in total and per address and
 * must finish the handshake in time; a failed handshake is counted in
 * memory only. Refusals are logged at most once per peer per minute.
 */
import {
    createServer,
    STATUS_CODES,
    type IncomingMessage,
    type Server,
    type ServerResponse,
} from "node:http"
import { createServer as createTlsServer } from "node:https"
import type { KeyObject } from "node:crypto"
import type { Socket } from "node:net"
import { WebSocketServer, type ServerOptions } from "ws"
import type { ArtifactStore } from "./artifacts.ts"
import { serveControl } from "./control.ts"
import {
    HandshakeFailures,
    type HandshakeFailureSummary,
} from "./handshake-failures.ts"
import {
    connectionKey,
    peerAddress,
    PendingConnections,
    type PendingLimits,
} from "./pending-connections.ts"
import { PeerLog } from "./peer-log.ts"
import { formatConnectionString, MAX_WS_MESSAGE } from "./protocol.ts"
import { settleInterruptedWork } from "./recovery.ts"
import { markBroken } from "./rollout-guard.ts"
import { CloseCode, Session, type SessionContext } from "./session.ts"
import type { DeviceRecord, FleetStore } from "./storage.ts"

/** Path prefix of device connections: `/wssk/<deviceId>`. */
export const DEVICE_PATH = "/wssk/"
/** Device ids the service accepts (and `add-device` registers). */
export const DEVICE_ID = /^[A-Za-z0-9._-]{1,64}$/

export interface FleetServiceOptions {
    store: FleetStore
    artifacts: ArtifactStore
    /** The release public key every artifact's signature must check against. */
    releaseKey: KeyObject
    /** TCP port; 0 (default) picks a free one. */
    port?: number
    /** Address to listen on (default 127.0.0.1). */
    listen?: string
    /** Host name devices use, in connection strings (default: `listen`, or 127.0.0.1). */
    publicHost?: string
    /** Serve TLS (`wss://`) with this certificate chain and key (PEM). */
    tls?: { cert: string | Buffer; key: string | Buffer }
    /**
     * How long an idle, in-sync connection is kept before closing (default
     * 1500 ms). While kept, a changed assignment is deployed at once (checked
     * every `healthCheckMs`); a device whose program does not use the network
     * can be held for long.
     */
    holdMs?: number
    /** Longest wait for each device answer during a deploy (default 15 s). */
    stepTimeoutMs?: number
    /**
     * An authenticated device that sends nothing this long is closed
     * (default 30 s; the runtime pings every ~4 s).
     */
    idleTimeoutMs?: number
    /** Caps and the handshake deadline of unauthenticated connections. */
    limits?: PendingLimits
    /** A deploy of the same version is not tried again after this many failures in a row (default 3). */
    maxDeployFailures?: number
    /**
     * When did the device last report to the platform after `sinceMs`?
     * Undefined: not since. Enables the "silent after update" check.
     */
    reportSource?: (
        device: DeviceRecord,
        sinceMs: number
    ) => Promise<number | undefined> | number | undefined
    /** A device that has not reported this long after its update is "silent" (default 60 s). */
    silentAfterMs?: number
    /** How often health is checked (default 1 s). */
    healthCheckMs?: number
    /** Stop the rollout when a device it updated crashes or goes silent (default true). */
    autoStop?: boolean
    /** Unix socket for `fleet status` (live figures kept in memory); none by default. */
    controlSocket?: string
    /** One line per event (default: none). */
    log?: (line: string) => void
    now?: () => number
}

/** A running service. */
export interface FleetService {
    readonly port: number
    /** Whether it serves TLS (`wss://`). */
    readonly tls: boolean
    /** The connection string for a registered device. */
    connectionString(deviceId: string): string
    /** Ids of devices connected now. */
    connected(): string[]
    /** Failed handshakes of the last hour, per device (memory only). */
    handshakeFailures(): Record<string, HandshakeFailureSummary>
    /** Unauthenticated connections now. */
    pendingConnections(): number
    /** Runs the health check once now. */
    checkHealth(): Promise<void>
    close(): Promise<void>
}

/** Writes an HTTP refusal on a socket that has not been upgraded, and ends it. */
function refuseHttp(socket: Socket, status: number, why: string) {
    if (socket.destroyed || !socket.writable) return
    const body = why + "\n"
    socket.end(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n` +
            `Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
    )
    setTimeout(() => socket.destroy(), 1000).unref()
}

/** Starts the service. */
export async function startFleetService(
    o: FleetServiceOptions
): Promise<FleetService> {
    const store = o.store
    const now = o.now ?? (() => Date.now())
    const autoStop = o.autoStop ?? true
    const silentAfterMs = o.silentAfterMs ?? 60_000
    const log = o.log ?? (() => {})
    const peerLog = new PeerLog(log)
    const failures = new HandshakeFailures(now)
    const sessions = new Map<string, Session>()
    /** Every session not ended yet (authenticated or not). */
    const live = new Set<Session>()
    let onAllEnded: (() => void) | undefined
    /** Upgraded connections whose device has not proved its key, by connection key. */
    const unproven = new Map<string, Session>()
    const keyOf = new WeakMap<Session, string>()

    function event(deviceId: string, kind: string, detail: string) {
        store.logEvent(deviceId, kind, detail)
        log(`${deviceId}: ${kind}${detail ? " " + detail : ""}`)
    }

    const interrupted = settleInterruptedWork(store, now())
    for (const id of interrupted)
        log(`${id}: deploy interrupted by a service stop: counted as failed`)

    const pending = new PendingConnections(o.limits ?? {}, (socket, key) => {
        const s = unproven.get(key)
        const why = `no proved key within ${pending.handshakeTimeoutMs} ms`
        if (s) {
            failures.record(s.device.id, s.peer, "handshake timeout")
            peerLog.note(s.peer, `${s.device.id}: ${why}`)
            s.close(CloseCode.Policy, "handshake timeout")
        } else {
            peerLog.note(peerAddress(socket), why)
            if (o.tls) socket.destroy()
            else refuseHttp(socket, 408, "handshake timeout")
        }
    })

    const ctx: SessionContext = {
        store,
        artifacts: o.artifacts,
        releaseKey: o.releaseKey,
        now,
        holdMs: o.holdMs ?? 1500,
        stepTimeoutMs: o.stepTimeoutMs ?? 15_000,
        idleTimeoutMs: o.idleTimeoutMs ?? 30_000,
        maxFailures: o.maxDeployFailures ?? 3,
        autoStop,
        log,
        event,
        authenticated(s) {
            const key = keyOf.get(s)!
            unproven.delete(key)
            pending.authenticated(key)
            sessions.get(s.device.id)?.close(CloseCode.Policy, "replaced")
            sessions.set(s.device.id, s)
        },
        handshakeFailed(s, reason) {
            failures.record(s.device.id, s.peer, reason)
            peerLog.note(s.peer, `${s.device.id}: handshake failed (${reason})`)
        },
        ended(s, reason) {
            unproven.delete(keyOf.get(s)!)
            live.delete(s)
            if (sessions.get(s.device.id) === s) {
                sessions.delete(s.device.id)
                store.atomically(() => {
                    store.updateState(s.device.id, { connected: false })
                    event(s.device.id, "disconnected", reason)
                })
            }
            if (live.size === 0) onAllEnded?.()
        },
    }

    const wss = new WebSocketServer(<ServerOptions>{
        noServer: true,
        maxPayload: MAX_WS_MESSAGE,
        // the runtime never fragments: a second fragment closes with 1008
        maxFragments: 1,
        maxBufferedChunks: 1024,
        perMessageDeflate: false,
        // the runtime never pings; no pong queue for a peer that does not read
        autoPong: false,
        clientTracking: false,
        // a peer that does not answer our close frame loses its socket after 2 s
        closeTimeout: 2000,
        handleProtocols: protocols => protocols.values().next().value ?? false,
    })

    function onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer) {
        const peer = peerAddress(socket)
        const refuse = (status: number, why: string) => {
            peerLog.note(peer, `refused ${status}: ${why}`)
            refuseHttp(socket, status, why)
        }
        const url = req.url ?? ""
        if (!url.startsWith(DEVICE_PATH)) return refuse(404, "unknown path")
        let id: string
        try {
            id = decodeURIComponent(url.slice(DEVICE_PATH.length))
        } catch {
            return refuse(400, "bad percent-encoding in the path")
        }
        const device = DEVICE_ID.test(id) ? store.device(id) : undefined
        if (!device) return refuse(404, "unknown device")
        const proto = /^devs-key-([0-9a-f]{32})$/i.exec(
            String(req.headers["sec-websocket-protocol"] ?? "")
        )
        if (!proto) return refuse(400, "no client nonce (devs-key-…)")
        const key = connectionKey(socket)
        wss.handleUpgrade(req, socket, head, ws => {
            const s = new Session(
                ctx,
                device,
                ws,
                Buffer.from(proto[1], "hex"),
                peer
            )
            keyOf.set(s, key)
            unproven.set(key, s)
            live.add(s)
            ws.on("error", e => {
                // a protocol error: ws has written the close frame with its
                // code; drop the socket before the next read instead of
                // reading (and discarding) the peer's data until closeTimeout
                process.nextTick(() => ws.terminate())
                if (!s.authenticatedYet)
                    failures.record(device.id, peer, e.message)
                peerLog.note(peer, `${device.id}: ${e.message}`)
            })
        })
    }

    const onRequest = (_req: IncomingMessage, res: ServerResponse) => {
        res.writeHead(404, {
            "content-type": "text/plain",
            connection: "close",
        })
        res.end("devices connect with a websocket on /wssk/<id>\n")
    }
    const server: Server = o.tls
        ? createTlsServer(
              {
                  cert: o.tls.cert,
                  key: o.tls.key,
                  handshakeTimeout: pending.handshakeTimeoutMs,
              },
              onRequest
          )
        : createServer(onRequest)
    server.headersTimeout = pending.handshakeTimeoutMs
    server.on("connection", (socket: Socket) => {
        const refusal = pending.admit(socket)
        if (!refusal) return
        peerLog.note(peerAddress(socket), `refused 503: ${refusal}`)
        if (o.tls) socket.destroy()
        else refuseHttp(socket, 503, refusal)
    })
    server.on("upgrade", (req, socket: Socket, head: Buffer) => {
        try {
            if (socket.destroyed || socket.writableEnded) return
            onUpgrade(req, socket, head)
        } catch (e) {
            log(`error while handling an upgrade: ${(e as Error).stack}`)
            refuseHttp(socket, 500, "internal error")
        }
    })
    server.on("clientError", (err: Error, socket: Socket) => {
        peerLog.note(peerAddress(socket), `bad request: ${err.message}`)
        if ((err as NodeJS.ErrnoException).code === "ECONNRESET") return
        refuseHttp(socket, 400, "bad request")
    })
    server.on("tlsClientError", (err: Error, socket: Socket) => {
        peerLog.note(peerAddress(socket), `TLS: ${err.message}`)
    })
    const listen = o.listen ?? "127.0.0.1"
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject)
        server.listen(o.port ?? 0, listen, () => resolve())
    })
    server.on("error", e => log(`server error: ${e.message}`))
    const port = (server.address() as { port: number }).port
    const publicHost =
        o.publicHost ??
        (listen === "0.0.0.0" || listen === "::" ? "127.0.0.1" : listen)

    const control = o.controlSocket
        ? await serveControl(o.controlSocket, () => ({
              handshakeFailures: failures.all(),
              connected: [...sessions.keys()],
              pendingConnections: pending.size,
              // where devices reach it (what `fleet enrol` puts in their strings)
              service: { host: publicHost, port, tls: !!o.tls },
          }))
        : undefined

    async function checkHealth() {
        if (!o.reportSource) return
        const t = now()
        for (const st of store.states()) {
            if (st.lastDeployResult !== "ok" || st.health !== "unknown")
                continue
            const d = store.device(st.id)
            if (!d) continue
            const seen = await o.reportSource(d, st.lastDeployAt)
            if (seen !== undefined)
                store.atomically(() => {
                    store.updateState(st.id, { health: "ok" })
                    event(st.id, "healthy", "reports after the update")
                })
            else if (t - st.lastDeployAt > silentAfterMs)
                markBroken(
                    store,
                    event,
                    st.id,
                    "silent",
                    `no report ${Math.round((t - st.lastDeployAt) / 1000)} s after the update`,
                    { autoStop, now: t }
                )
        }
    }
    let checking = false
    const healthTimer = setInterval(async () => {
        for (const s of sessions.values()) s.recheck()
        if (checking) return
        checking = true
        try {
            await checkHealth()
        } catch (e) {
            log(`health check failed: ${(e as Error).message}`)
        } finally {
            checking = false
        }
    }, o.healthCheckMs ?? 1000)

    return {
        port,
        tls: !!o.tls,
        connectionString(deviceId: string) {
            const d = store.device(deviceId)
            if (!d) throw new RangeError(`no device ${deviceId}`)
            return formatConnectionString({
                host: publicHost,
                port,
                path: DEVICE_PATH + encodeURIComponent(d.id),
                key: Buffer.from(d.key, "hex"),
                tls: !!o.tls,
            })
        },
        connected: () => [...sessions.keys()],
        handshakeFailures: () => failures.all(),
        pendingConnections: () => pending.size,
        checkHealth,
        async close() {
            clearInterval(healthTimer)
            control?.close()
            const ended = new Promise<void>(r => {
                onAllEnded = r
                if (live.size === 0) r()
            })
            for (const s of live)
                s.close(CloseCode.GoingAway, "service stopping")
            pending.clear()
            const closed = new Promise<void>(r => server.close(() => r()))
            server.closeAllConnections()
            await ended
            await closed
            store.atomically(() => {
                for (const st of store.states())
                    if (st.connected)
                        store.updateState(st.id, { connected: false })
            })
        },
    }
}

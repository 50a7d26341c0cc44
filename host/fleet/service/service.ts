/**
 * The fleet deployment service: devices connect with their connection
 * string (runtime cloud protocol, see device/protocol.ts), the service asks for
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
 * Hostile peers: every request that is not a well-formed upgrade is
 * refused with an HTTP status, and an unknown id is answered as a wrong
 * key is (see device-upgrade.ts); every bad frame closes
 * the websocket with a code (the `ws` package enforces RFC 6455: masking,
 * RSV bits, opcodes, control frames); messages are limited to the
 * protocol's largest ({@link MAX_WS_MESSAGE}) and are never fragmented;
 * unauthenticated connections are capped by memory, the oldest of the
 * address holding the most making room (admission.ts), and must finish
 * the handshake in time; an authenticated device is read no faster than
 * it reads and is metered (back-pressure.ts); a failed handshake is
 * counted in memory only. Refusals are logged at most once per peer per
 * minute.
 */
import {
    createServer,
    type IncomingMessage,
    type Server,
    type ServerResponse,
} from "node:http"
import { createServer as createTlsServer } from "node:https"
import type { KeyObject } from "node:crypto"
import type { Socket } from "node:net"
import { WebSocketServer, type ServerOptions, type WebSocket } from "ws"
import type { ArtifactStore } from "../release/artifacts.ts"
import { CheckedSignatures } from "../release/checked-signatures.ts"
import { serveControl } from "./control.ts"
import type { MessageLimits } from "../device/back-pressure.ts"
import { DeviceConnections } from "../device/connections.ts"
import {
    decoyReason,
    DEVICE_PATH,
    readDeviceUpgrade,
    refuseHttp,
} from "../device/upgrade.ts"
import {
    HandshakeFailures,
    type HandshakeFailureSummary,
} from "../device/handshake-failures.ts"
import { checkHealth, type ReportSource } from "./health.ts"
import {
    connectionKey,
    peerAddress,
    PendingConnections,
    type PendingLimits,
} from "../device/admission.ts"
import { InstanceLeases, newInstanceId, type LeaseTimes } from "./leases.ts"
import { KeyedQueue } from "./keyed-queue.ts"
import { CanaryMembers } from "../rollout/canary-members.ts"
import {
    DEFAULT_DEPLOY_WAIT_MS,
    DEFAULT_MAX_DEPLOYS,
    DeploySlots,
} from "./deploy-slots.ts"
import { LoadGauge } from "./load-gauge.ts"
import { PeerLog } from "../device/peer-log.ts"
import { formatConnectionString, MAX_WS_MESSAGE } from "../device/protocol.ts"
import { settleInterruptedWork } from "./recovery.ts"
import { CloseCode, Session, type SessionContext } from "../device/session.ts"
import { WriteBatch } from "../device/write-batch.ts"
import type { FleetStore } from "../store/types.ts"

export { DEVICE_ID, DEVICE_PATH } from "../device/upgrade.ts"

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
    /** What an authenticated device may send unasked, and have waiting. */
    messageLimits?: MessageLimits
    /** A deploy of the same version is not tried again after this many failures in a row (default 3). */
    maxDeployFailures?: number
    /**
     * When did the device last report to the platform after `sinceMs`?
     * Undefined: not since. Enables the "silent after update" check.
     */
    reportSource?: ReportSource
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
    /** The clock (default `Date.now`). */
    now?: () => number
    /**
     * A name for this instance in its owner id and logs (several instances
     * may share one store; each gets a random owner id anyway).
     */
    instance?: string
    /** Lease TTLs (deploy, health check, the instance's own). */
    leases?: LeaseTimes
    /**
     * Deploys at once across every instance sharing the store (default
     * {@link DEFAULT_MAX_DEPLOYS}; 0: no bound). The others come back later.
     */
    maxDeploys?: number
    /** How long a device waits here for a deploy slot before it is told to come back (default 2 s). */
    deployWaitMs?: number
}

/** A running service. */
export interface FleetService {
    readonly port: number
    /** Whether it serves TLS (`wss://`). */
    readonly tls: boolean
    /** The connection string for a registered device. */
    connectionString(deviceId: string): Promise<string>
    /** Ids of devices connected now. */
    connected(): string[]
    /** Failed handshakes of the last hour, per device (memory only). */
    handshakeFailures(): Record<string, HandshakeFailureSummary>
    /** Unauthenticated connections now. */
    pendingConnections(): number
    /** This instance's owner id (in leases and `connectedTo`). */
    readonly owner: string
    /**
     * Runs the health check once now, when this instance holds the fleet's
     * health-check lease (else another instance runs it); whether it ran.
     */
    checkHealth(): Promise<boolean>
    close(): Promise<void>
}

/** Starts the service: settles work a stop interrupted, then listens. */
export async function startFleetService(
    o: FleetServiceOptions
): Promise<FleetService> {
    const service = new FleetServer(o)
    await service.listen(o.port ?? 0, o.listen ?? "127.0.0.1", o.publicHost)
    return service
}

/**
 * Largest request head a peer may send before it is refused (431): the
 * runtime's upgrade request is about 250 bytes; Node's default (16 KiB)
 * would let each unauthenticated connection hold four times more.
 */
const MAX_HEADER_BYTES = 4096

/** A health check still running after this long is logged as hanging. */
const HEALTH_SLOW_MS = 30_000

/** The websocket settings for device connections (`ws` enforces RFC 6455). */
function deviceWebSocketServer() {
    return new WebSocketServer(<ServerOptions>{
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
}

/** The service: an HTTP(S) server whose upgrades become device sessions. */
class FleetServer implements FleetService {
    port = 0
    readonly tls: boolean
    private publicHost = "127.0.0.1"
    private readonly store: FleetStore
    readonly owner: string
    private readonly leases: InstanceLeases
    private readonly slots: DeploySlots
    private readonly load = new LoadGauge()
    private readonly now: () => number
    private readonly log: (line: string) => void
    private readonly peerLog: PeerLog
    private readonly deviceLog: PeerLog
    private readonly failures: HandshakeFailures
    private readonly pending: PendingConnections
    private readonly connections: DeviceConnections
    private readonly ctx: SessionContext
    private readonly wss = deviceWebSocketServer()
    /** Each device's store work, in order (see keyed-queue.ts). */
    private readonly queue = new KeyedQueue()
    private readonly server: Server
    private control?: { close(): void }
    private healthTimer?: NodeJS.Timeout
    private checking = false
    private renewing = false
    private closing = false

    constructor(private readonly o: FleetServiceOptions) {
        this.store = o.store
        this.now = o.now ?? (() => Date.now())
        this.log = o.log ?? (() => {})
        this.tls = !!o.tls
        this.owner = newInstanceId(o.instance)
        this.leases = new InstanceLeases(
            this.store,
            this.owner,
            {
                // past the longest wait for a step, which renews it
                deployMs:
                    o.leases?.deployMs ??
                    Math.max(60_000, 2 * (o.stepTimeoutMs ?? 15_000)),
                ...o.leases,
            },
            this.now
        )
        this.slots = new DeploySlots(
            this.store,
            this.leases,
            o.maxDeploys ?? DEFAULT_MAX_DEPLOYS,
            o.deployWaitMs ?? DEFAULT_DEPLOY_WAIT_MS,
            this.now,
            this.log,
            // within the bound, paced by this instance's load (deploy-pace.ts)
            { load: () => this.load.sample() }
        )
        this.peerLog = new PeerLog(this.log)
        this.deviceLog = new PeerLog(this.log)
        this.failures = new HandshakeFailures(this.now)
        this.pending = new PendingConnections(
            o.limits ?? {},
            !!o.tls,
            (socket, key) => this.handshakeTimedOut(socket, key),
            (socket, key) => this.evicted(socket, key)
        )
        this.connections = new DeviceConnections({
            store: this.store,
            owner: this.owner,
            event: this.event,
            pending: this.pending,
            failures: this.failures,
            peerLog: this.peerLog,
            serial: this.serial,
        })
        this.ctx = {
            store: this.store,
            leases: this.slots,
            members: new CanaryMembers(),
            artifacts: o.artifacts,
            checkedSignatures: new CheckedSignatures(),
            releaseKey: o.releaseKey,
            now: this.now,
            holdMs: o.holdMs ?? 1500,
            stepTimeoutMs: o.stepTimeoutMs ?? 15_000,
            idleTimeoutMs: o.idleTimeoutMs ?? 30_000,
            maxFailures: o.maxDeployFailures ?? 3,
            autoStop: o.autoStop ?? true,
            log: this.log,
            event: this.event,
            messageLimits: o.messageLimits,
            // once per device per minute: a device that floods, reconnects and floods again
            overRate: (s, why) => this.deviceLog.note(s.device.id, why),
            authenticated: s => this.connections.authenticated(s),
            handshakeFailed: (s, reason) =>
                this.connections.handshakeFailed(s, reason),
            ended: (s, reason) => this.connections.ended(s, reason),
            serial: this.serial,
        }
        this.server = this.createServer()
    }

    /** Records an event: a database row (through `tx`) and a log line. */
    private readonly event = async (
        tx: FleetStore,
        deviceId: string,
        kind: string,
        detail: string
    ) => {
        await tx.logEvent(deviceId, kind, detail)
        this.log(`${deviceId}: ${kind}${detail ? " " + detail : ""}`)
    }

    /** Queues a device's store work behind its earlier work. */
    private readonly serial = (deviceId: string, task: () => Promise<void>) =>
        void this.queue.run(deviceId, task, e =>
            this.log(`${deviceId}: ${(e as Error).stack ?? String(e)}`)
        )

    private createServer(): Server {
        const onRequest = (_req: IncomingMessage, res: ServerResponse) => {
            res.writeHead(404, {
                "content-type": "text/plain",
                connection: "close",
            })
            res.end("devices connect with a websocket on /wssk/<id>\n")
        }
        const tls = this.o.tls
        const server: Server = tls
            ? createTlsServer(
                  {
                      cert: tls.cert,
                      key: tls.key,
                      handshakeTimeout: this.pending.handshakeTimeoutMs,
                      maxHeaderSize: MAX_HEADER_BYTES,
                  },
                  onRequest
              )
            : createServer({ maxHeaderSize: MAX_HEADER_BYTES }, onRequest)
        server.headersTimeout = this.pending.handshakeTimeoutMs
        server.on("connection", (socket: Socket) => this.admit(socket))
        server.on("upgrade", (req, socket: Socket, head: Buffer) => {
            if (socket.destroyed || socket.writableEnded) return
            this.upgrade(req, socket, head).catch(e => {
                this.log(
                    `error while handling an upgrade: ${(e as Error).stack}`
                )
                refuseHttp(socket, 500, "internal error")
            })
        })
        server.on("clientError", (err: Error, socket: Socket) => {
            this.peerLog.note(
                peerAddress(socket),
                `bad request: ${err.message}`
            )
            if ((err as NodeJS.ErrnoException).code === "ECONNRESET") return
            refuseHttp(socket, 400, "bad request")
        })
        server.on("tlsClientError", (err: Error, socket: Socket) => {
            this.peerLog.note(peerAddress(socket), `TLS: ${err.message}`)
        })
        return server
    }

    /**
     * Settles the work a stop interrupted, listens, opens the control
     * socket and starts the health timer.
     */
    async listen(port: number, address: string, publicHost?: string) {
        this.log(`instance ${this.owner}`)
        await this.leases.heartbeat()
        await this.settle()
        await new Promise<void>((resolve, reject) => {
            this.server.once("error", reject)
            this.server.listen(port, address, () => resolve())
        })
        this.server.on("error", e => this.log(`server error: ${e.message}`))
        this.port = (this.server.address() as { port: number }).port
        this.publicHost =
            publicHost ??
            (address === "0.0.0.0" || address === "::" ? "127.0.0.1" : address)
        if (this.o.controlSocket)
            this.control = await serveControl(this.o.controlSocket, () => ({
                handshakeFailures: this.failures.all(),
                connected: this.connections.connectedIds(),
                pendingConnections: this.pending.size,
                // where devices reach it (what `fleet enrol` puts in their strings)
                service: {
                    host: this.publicHost,
                    port: this.port,
                    tls: this.tls,
                },
            }))
        this.healthTimer = setInterval(
            () => this.tick(),
            this.o.healthCheckMs ?? 1000
        )
    }

    /** A new TCP connection: admitted as unauthenticated (it may displace one). */
    private admit(socket: Socket) {
        this.pending.admit(socket)
    }

    /**
     * An unauthenticated connection closed to make room: at once, with no
     * answer but a close code when its websocket is open (a peer that
     * floods gets nothing to read).
     */
    private evicted(socket: Socket, key: string) {
        this.peerLog.note(
            peerAddress(socket),
            "unauthenticated connection closed to make room (its address holds the most)"
        )
        const s = this.connections.unprovenOn(key)
        if (s) s.close(CloseCode.TryAgainLater, "too many unauthenticated")
        socket.destroy()
    }

    /** An upgrade request: a device's session, or an HTTP refusal. */
    private async upgrade(req: IncomingMessage, socket: Socket, head: Buffer) {
        const peer = peerAddress(socket)
        const key = connectionKey(socket)
        const u = await readDeviceUpgrade(req, id => this.store.device(id))
        // the peer may have gone, or the handshake deadline passed, meanwhile
        if (socket.destroyed || socket.writableEnded || this.closing) return
        if ("status" in u) {
            this.peerLog.note(peer, `refused ${u.status}: ${u.why}`)
            return refuseHttp(socket, u.status, u.why)
        }
        // the 101 answer and the hello leave in one write
        const batch = new WriteBatch(socket)
        batch.hold()
        this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
            const s = new Session(
                this.ctx,
                u.device,
                ws,
                batch,
                u.clientNonce,
                peer
            )
            this.connections.opened(s, key)
            ws.on("error", e => {
                // a protocol error: ws has written the close frame with its
                // code; drop the socket before the next read instead of
                // reading (and discarding) the peer's data until closeTimeout
                process.nextTick(() => ws.terminate())
                if (!s.authenticatedYet && !decoyReason(u.device))
                    this.failures.record(u.device.id, peer, e.message)
                this.peerLog.note(peer, `${u.device.id}: ${e.message}`)
            })
        })
    }

    /** A connection that has not proved a key in time is closed. */
    private handshakeTimedOut(socket: Socket, key: string) {
        const s = this.connections.unprovenOn(key)
        const why = `no proved key within ${this.pending.handshakeTimeoutMs} ms`
        if (s) {
            if (!decoyReason(s.device))
                this.failures.record(s.device.id, s.peer, "handshake timeout")
            this.peerLog.note(s.peer, `${s.device.id}: ${why}`)
            s.close(CloseCode.Policy, "handshake timeout")
        } else {
            this.peerLog.note(peerAddress(socket), why)
            if (this.tls) socket.destroy()
            else refuseHttp(socket, 408, "handshake timeout")
        }
    }

    /**
     * Settles the deploys and connections of instances that are gone (at
     * start, and by the health-check holder while serving).
     */
    private async settle() {
        const interrupted = await settleInterruptedWork(
            this.store,
            this.now(),
            this.leases,
            // its own deploys, from taking the lease to giving it up
            id => this.leases.holdsDeploy(id)
        )
        for (const id of interrupted)
            this.log(
                `${id}: deploy interrupted by a service stop: counted as failed`
            )
    }

    /**
     * Every health period: held sessions recheck, this instance's lease is
     * renewed, and the health check runs; each apart, so that a health
     * source or a check that hangs never delays the renewal (other
     * instances would take this one for dead and settle its live work).
     */
    private async tick() {
        this.connections.recheckAll()
        void this.renewLease()
        if (this.checking) return
        this.checking = true
        const slow = setTimeout(
            () =>
                this.log(
                    `health check: no end after ${HEALTH_SLOW_MS} ms (its source or the store hangs); this instance's lease is still renewed`
                ),
            HEALTH_SLOW_MS
        )
        try {
            if (this.closing) return
            if (!this.closing && (await this.checkHealth())) await this.settle()
        } catch (e) {
            this.log(`health check failed: ${(e as Error).message}`)
        } finally {
            clearTimeout(slow)
            this.checking = false
        }
    }

    /** Renews this instance's own lease, behind no other work; says when the store is slow. */
    private async renewLease() {
        if (this.renewing || this.closing) return
        this.renewing = true
        const t0 = Date.now()
        try {
            await this.leases.heartbeat()
        } catch (e) {
            this.log(
                `renewing this instance's lease failed: ${(e as Error).message}`
            )
        } finally {
            this.renewing = false
            const took = Date.now() - t0
            if (took > this.leases.aliveMs / 2)
                this.log(
                    `the store took ${took} ms to renew this instance's lease (it lapses after ${this.leases.aliveMs} ms)`
                )
        }
    }

    async checkHealth(): Promise<boolean> {
        if (!(await this.leases.healthCheck())) return false
        const reportSource = this.o.reportSource
        if (!reportSource) return true
        await checkHealth({
            store: this.store,
            reportSource,
            event: this.event,
            now: this.now,
            silentAfterMs: this.o.silentAfterMs ?? 60_000,
            autoStop: this.ctx.autoStop,
        })
        return true
    }

    async connectionString(deviceId: string): Promise<string> {
        const d = await this.store.device(deviceId)
        if (!d) throw new RangeError(`no device ${deviceId}`)
        return formatConnectionString({
            host: this.publicHost,
            port: this.port,
            path: DEVICE_PATH + encodeURIComponent(d.id),
            key: Buffer.from(d.key, "hex"),
            tls: this.tls,
        })
    }

    connected(): string[] {
        return this.connections.connectedIds()
    }

    handshakeFailures(): Record<string, HandshakeFailureSummary> {
        return this.failures.all()
    }

    pendingConnections(): number {
        return this.pending.size
    }

    async close(): Promise<void> {
        this.closing = true
        clearInterval(this.healthTimer)
        this.control?.close()
        this.slots.close()
        this.load.stop()
        const ended = this.connections.closeAll(
            CloseCode.GoingAway,
            "service stopping"
        )
        this.pending.clear()
        const closed = new Promise<void>(r => this.server.close(() => r()))
        this.server.closeAllConnections()
        await ended
        await closed
        // the records the sessions queued (a deploy that failed, disconnects)
        await this.queue.idle()
        await this.store.atomically(async tx => {
            for (const st of await tx.unsettledStates())
                if (st.connected && st.connectedTo === this.owner)
                    await tx.updateState(st.id, {
                        connected: false,
                        connectedTo: "",
                    })
        })
        await this.leases.close()
    }
}

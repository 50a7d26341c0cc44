/**
 * Unauthenticated connections: every TCP connection counts from the moment
 * it is accepted until its device has proved its key. Each must finish its
 * handshake within a time limit, and their number is capped by memory; a
 * new connection is always admitted, and when there is no room the oldest
 * connection of the address that holds the most is closed (see
 * admission.ts). So a peer that opens connections and then says nothing,
 * or says nothing useful, holds little and not for long, and cannot keep
 * out a device that proves its key promptly.
 */
import { isIPv6, type Socket } from "node:net"
import { AdmissionTable } from "./admission-policy.ts"

/** Limits on unauthenticated connections. */
export interface PendingLimits {
    /** At most this many at once (default {@link defaultMaxPending}). */
    maxTotal?: number
    /**
     * An address holding this many has its own oldest closed for its next
     * one (default: `maxTotal`, so only a full table makes room).
     */
    maxPerAddress?: number
    /** Time from TCP accept to a proved key (default 10 s). */
    handshakeTimeoutMs?: number
}

/**
 * Service memory one unauthenticated connection may take at most, measured
 * on loopback in its dearest state (upgraded, hello sent, no key proved;
 * Node 20, `fleet serve`): about 17 KiB over `ws://`, 60 KiB over `wss://`
 * (an idle TCP connection: 9 and 15 KiB). Rounded up.
 */
export const PENDING_CONNECTION_BYTES = { ws: 18 * 1024, wss: 64 * 1024 }
/** Memory the unauthenticated connections may take together. */
export const PENDING_MEMORY_BUDGET = 64 * 1024 * 1024

/** The default cap: the memory budget over one connection's cost (3640 ws, 1024 wss). */
export function defaultMaxPending(tls: boolean): number {
    return Math.floor(
        PENDING_MEMORY_BUDGET / PENDING_CONNECTION_BYTES[tls ? "wss" : "ws"]
    )
}

/** Tracks unauthenticated connections and their handshake deadlines. */
export class PendingConnections {
    private readonly table: AdmissionTable<{
        socket: Socket
        timer: NodeJS.Timeout
    }>
    readonly maxTotal: number
    readonly maxPerAddress: number
    readonly handshakeTimeoutMs: number
    /** Connections closed to make room since the start. */
    evicted = 0

    /**
     * @param onTimeout called when a connection's handshake took too long
     * @param onEvict called when a connection is closed to make room
     */
    constructor(
        limits: PendingLimits,
        tls: boolean,
        private readonly onTimeout: (socket: Socket, key: string) => void,
        private readonly onEvict: (socket: Socket, key: string) => void
    ) {
        this.maxTotal = limits.maxTotal || defaultMaxPending(tls)
        this.maxPerAddress = Math.min(
            limits.maxPerAddress || this.maxTotal,
            this.maxTotal
        )
        this.handshakeTimeoutMs = limits.handshakeTimeoutMs || 10_000
        this.table = new AdmissionTable({
            capacity: this.maxTotal,
            perAddress: this.maxPerAddress,
        })
    }

    /** Unauthenticated connections now. */
    get size(): number {
        return this.table.size
    }

    /**
     * Admits a new connection (counted until {@link authenticated} or its
     * close); closes the ones it displaces through `onEvict`.
     */
    admit(socket: Socket): void {
        const key = connectionKey(socket)
        const timer = setTimeout(() => {
            if (!this.table.remove(key)) return
            this.onTimeout(socket, key)
        }, this.handshakeTimeoutMs)
        const evicted = this.table.add(key, admissionAddress(socket), {
            socket,
            timer,
        })
        socket.once("close", () => this.release(key))
        for (const e of evicted) {
            clearTimeout(e.timer)
            this.evicted++
            this.onEvict(e.socket, connectionKey(e.socket))
        }
    }

    /**
     * The connection's device proved its key: it no longer counts.
     * @param key its {@link connectionKey} (the same for a TLS socket and
     *   the TCP socket under it)
     */
    authenticated(key: string): void {
        this.release(key)
    }

    private release(key: string) {
        const e = this.table.remove(key)
        if (e) clearTimeout(e.timer)
    }

    /** Stops every timer (service shutdown). */
    clear(): void {
        for (const e of this.table.clear()) clearTimeout(e.timer)
    }
}

/** Identifies a connection: remote address and port. */
export function connectionKey(socket: Socket): string {
    return `${socket.remoteAddress}|${socket.remotePort}`
}

/** The remote address of a socket, as logged and counted. */
export function peerAddress(socket: Socket): string {
    return socket.remoteAddress ?? "unknown"
}

/**
 * The address admission counts a connection under: an IPv4 address, or
 * the /64 prefix of an IPv6 address (one site's allocation: a peer holds
 * all of it).
 */
export function admissionAddress(socket: Socket): string {
    return addressGroup(peerAddress(socket))
}

/** `a.b.c.d` (also from `::ffff:a.b.c.d`), or an IPv6 address's /64 prefix. */
export function addressGroup(addr: string): string {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr)
    if (mapped) return mapped[1]
    if (!isIPv6(addr)) return addr
    const [head, tail = ""] = addr.split("::")
    const left = head ? head.split(":") : []
    const right = tail ? tail.split(":") : []
    const groups = addr.includes("::")
        ? [
              ...left,
              ...Array(8 - left.length - right.length).fill("0"),
              ...right,
          ]
        : left
    return (
        groups
            .slice(0, 4)
            .map(g => parseInt(g, 16).toString(16))
            .join(":") + "::/64"
    )
}

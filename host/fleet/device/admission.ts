/**
 * Unauthenticated connections: every TCP connection counts from the moment
 * it is accepted until its device has proved its key. They are capped in
 * total and per source address, and each must finish its handshake within
 * a time limit; so a peer that opens connections and then says nothing, or
 * says nothing useful, holds little and not for long.
 */
import type { Socket } from "node:net"

/** Limits on unauthenticated connections. */
export interface PendingLimits {
    /** At most this many at once (default 64). */
    maxTotal?: number
    /** At most this many at once from one address (default 8). */
    maxPerAddress?: number
    /** Time from TCP accept to a proved key (default 10 s). */
    handshakeTimeoutMs?: number
}

/** Why a connection was not admitted. */
export type Refusal =
    | "too many unauthenticated connections"
    | "too many unauthenticated connections from this address"

/** Tracks unauthenticated connections and their handshake deadlines. */
export class PendingConnections {
    private readonly timers = new Map<
        string,
        { timer: NodeJS.Timeout; addr: string }
    >()
    private readonly perAddress = new Map<string, number>()
    readonly maxTotal: number
    readonly maxPerAddress: number
    readonly handshakeTimeoutMs: number

    /** @param onTimeout called when a connection's handshake took too long */
    constructor(
        limits: PendingLimits,
        private readonly onTimeout: (socket: Socket, key: string) => void
    ) {
        this.maxTotal = limits.maxTotal ?? 64
        this.maxPerAddress = limits.maxPerAddress ?? 8
        this.handshakeTimeoutMs = limits.handshakeTimeoutMs ?? 10_000
    }

    /** Unauthenticated connections now. */
    get size(): number {
        return this.timers.size
    }

    /**
     * Admits a new connection (counted until {@link authenticated} or its
     * close) or says why not.
     */
    admit(socket: Socket): Refusal | undefined {
        const addr = peerAddress(socket)
        const key = connectionKey(socket)
        if (this.timers.size >= this.maxTotal)
            return "too many unauthenticated connections"
        if ((this.perAddress.get(addr) ?? 0) >= this.maxPerAddress)
            return "too many unauthenticated connections from this address"
        this.perAddress.set(addr, (this.perAddress.get(addr) ?? 0) + 1)
        const timer = setTimeout(() => {
            this.release(key)
            this.onTimeout(socket, key)
        }, this.handshakeTimeoutMs)
        this.timers.set(key, { timer, addr })
        socket.once("close", () => this.release(key))
        return undefined
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
        const e = this.timers.get(key)
        if (!e) return
        clearTimeout(e.timer)
        this.timers.delete(key)
        const addr = e.addr
        const n = (this.perAddress.get(addr) ?? 1) - 1
        if (n > 0) this.perAddress.set(addr, n)
        else this.perAddress.delete(addr)
    }

    /** Stops every timer (service shutdown). */
    clear(): void {
        for (const e of this.timers.values()) clearTimeout(e.timer)
        this.timers.clear()
        this.perAddress.clear()
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

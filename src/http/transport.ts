import { connect, SocketConnectOptions } from "@devicescript/net"

/** One connection: what {@link HttpClient} needs of a socket. */
export interface Connection {
    /** Sends the bytes; throws when the connection is gone. */
    send(buf: Buffer): Promise<void>
    /**
     * The next bytes that arrived: `undefined` after `timeout` ms without
     * any, `null` once the peer has closed. Throws on a socket error.
     */
    recv(timeout?: number): Promise<Buffer>
    /** Closes the connection (no error if it is closed already). */
    close(): Promise<void>
}

/**
 * Opens connections for the HTTP client (as coreHTTP takes its transport
 * interface): the device's socket, or a test's scripted one. The device
 * has one socket: opening a connection ends the previous one.
 */
export interface Transport {
    /** Opens a connection within `options.timeout` ms; throws on failure. */
    connect(options: SocketConnectOptions): Promise<Connection>
}

/** The device's one socket, through `@devicescript/net`. */
export const netTransport: Transport = { connect: connect }

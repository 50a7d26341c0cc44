/**
 * JSON-friendly views of the emulator's records, shared by the admin API and
 * the library functions (messageId as a string, bodies as base64 and, when
 * valid, UTF-8).
 */
import type { AuthRecord, MessageRecord, PlatformState } from "./state.ts"

/** A device as listed (the secret is never shown). */
export interface DeviceView {
    productKey: string
    deviceName: string
}

/** An accepted message as the admin API shows it. */
export interface MessageView {
    seq: number
    time: string
    connection: number
    productKey: string
    deviceName: string
    topic: string
    /** 64-bit id as a decimal string (it does not fit a double) */
    messageId: string
    /** body length in bytes */
    size: number
    base64: string
    /** the body as text, present only when it is valid UTF-8 */
    utf8?: string
}

const utf8 = new TextDecoder("utf-8", { fatal: true })

export function messageView(m: MessageRecord): MessageView {
    const v: MessageView = {
        seq: m.seq,
        time: m.time,
        connection: m.connection,
        productKey: m.productKey,
        deviceName: m.deviceName,
        topic: m.topic,
        messageId: m.messageId,
        size: m.body.length,
        base64: m.body.toString("base64"),
    }
    try {
        v.utf8 = utf8.decode(m.body)
    } catch {}
    return v
}

export function deviceViews(st: PlatformState): DeviceView[] {
    return [...st.devices.values()].map(d => ({
        productKey: d.productKey,
        deviceName: d.deviceName,
    }))
}

export type AuthView = AuthRecord

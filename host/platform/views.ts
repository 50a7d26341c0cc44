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

/**
 * An accepted message as the admin API shows it: the record (its 64-bit
 * `messageId` already a decimal string) with the body as base64 and, when
 * valid, UTF-8.
 */
export interface MessageView extends Omit<MessageRecord, "body"> {
    /** body length in bytes */
    size: number
    base64: string
    /** the body as text, present only when it is valid UTF-8 */
    utf8?: string
}

const utf8 = new TextDecoder("utf-8", { fatal: true })

export function messageView(m: MessageRecord): MessageView {
    const { body, ...record } = m
    const v: MessageView = {
        ...record,
        size: body.length,
        base64: body.toString("base64"),
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

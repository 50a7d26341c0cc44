/**
 * The shape of a thing-model history post (`thing.event.property.history.post`
 * on `/sys/${productKey}/${deviceName}/thing/event/property/history/post`), as
 * Alibaba Cloud's "Device properties, events, and services" documents it
 * (section "Report the historical data of a TSL model",
 * https://www.alibabacloud.com/help/en/iot-platform/latest/device-properties-events-and-services,
 * help.aliyun.com/document_detail/89301):
 *
 * ```
 * {"id":"123","version":"1.0","method":"thing.event.property.history.post",
 *  "params":[{"identity":{"productKey":"..","deviceName":".."},
 *             "properties":[{"Power":{"value":"on","time":1524448722000},..},..],
 *             "events":[{"alarmEvent":{"value":{..},"time":1524448722000}},..]}]}
 * ```
 *
 * Checked strictly, where the documents speak: `id` a string of digits
 * 0..4294967295; `version` "1.0"; the method; `params` a non-empty array;
 * each element's `identity` the device's own (a directly connected device
 * reports only its own history); each property and event entry an identifier
 * (1..50 letters, digits, `_`, as the TSL requires) with `value` and `time`
 * (the documents: "You must specify the identifier, value, and time"), the
 * time in epoch milliseconds and at most 24 hours ahead of the platform's
 * clock ("only data within the next 24 hours"); `sys` (extended features) is
 * the only other top-level field. Whether the real HTTPS channel checks a
 * history post before answering is not documented (the Alink reply goes to
 * the `_reply` topic over MQTT); the emulator answers 10001 at once. One
 * trailing NUL after the JSON is accepted: Alibaba's C SDK example sends a
 * body with its C string terminator (`strlen + 1`). Pure.
 */

/** The Alink method of a history post. */
export const HISTORY_METHOD = "thing.event.property.history.post"

/** A device's history post topic. */
export const historyTopic = (productKey: string, deviceName: string) =>
    `/sys/${productKey}/${deviceName}/thing/event/property/history/post`

/** How far ahead of the platform's clock a time may be (the documents' 24 h). */
export const MAX_FUTURE_MS = 24 * 3600 * 1000

const IDENTIFIER = /^[A-Za-z0-9_]{1,50}$/
const TOP_FIELDS = ["id", "version", "params", "method", "sys"]
const ELEMENT_FIELDS = ["identity", "properties", "events"]

const isObject = (x: unknown): x is Record<string, unknown> =>
    typeof x === "object" && x !== null && !Array.isArray(x)

function entriesProblem(
    list: unknown,
    where: string,
    now: number,
    eventValues: boolean
): string | undefined {
    if (!Array.isArray(list)) return `${where} must be an array`
    if (!list.length) return `${where} is empty`
    for (let i = 0; i < list.length; i++) {
        const entry = list[i]
        const at = `${where}[${i}]`
        if (!isObject(entry)) return `${at} must be an object`
        const names = Object.keys(entry)
        if (!names.length) return `${at} is empty`
        for (const name of names) {
            if (!IDENTIFIER.test(name))
                return `${at}: identifier ${JSON.stringify(name.slice(0, 60))} is not 1..50 letters, digits or _`
            const v = entry[name]
            const it = `${at}.${name}`
            if (!isObject(v)) return `${it} must be {"value", "time"}`
            const extra = Object.keys(v).filter(
                k => k !== "value" && k !== "time"
            )
            if (extra.length) return `${it} has unknown field(s) ${extra}`
            if (!("value" in v) || v.value === null) return `${it} has no value`
            if (eventValues && !isObject(v.value))
                return `${it}.value must be an object of event parameters`
            if (!eventValues && typeof v.value === "object")
                return `${it}.value must be a number, string or boolean`
            const t = v.time
            if (typeof t !== "number" || !Number.isInteger(t) || t <= 0)
                return `${it}.time must be epoch milliseconds (a whole number)`
            if (t > now + MAX_FUTURE_MS)
                return `${it}.time is more than 24 hours ahead of the platform's clock`
        }
    }
    return undefined
}

/**
 * Why a history post body from device `productKey/deviceName` is refused,
 * or undefined. `now` is the platform's clock (epoch ms).
 */
export function historyPostProblem(
    body: Buffer,
    productKey: string,
    deviceName: string,
    now: number
): string | undefined {
    // the C SDK's terminator: exactly one NUL, the only byte stripped
    const json = body.at(-1) === 0 ? body.subarray(0, -1) : body
    let doc: unknown
    try {
        doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(json))
    } catch {
        return "a history post must be Alink JSON (UTF-8)"
    }
    if (!isObject(doc)) return "a history post must be a JSON object"
    const extra = Object.keys(doc).filter(k => !TOP_FIELDS.includes(k))
    if (extra.length) return `unknown field(s) ${extra.join(", ")}`
    const id = doc.id
    if (typeof id !== "string" || !/^\d{1,10}$/.test(id) || +id > 4294967295)
        return "id must be a string of digits, 0..4294967295"
    if (doc.version !== "1.0") return 'version must be "1.0"'
    if (doc.method !== HISTORY_METHOD) return `method must be ${HISTORY_METHOD}`
    if (doc.sys !== undefined && !isObject(doc.sys))
        return "sys must be an object"
    const params = doc.params
    if (!Array.isArray(params) || !params.length)
        return "params must be a non-empty array"
    for (let i = 0; i < params.length; i++) {
        const el = params[i]
        const at = `params[${i}]`
        if (!isObject(el)) return `${at} must be an object`
        const unknown = Object.keys(el).filter(k => !ELEMENT_FIELDS.includes(k))
        if (unknown.length) return `${at} has unknown field(s) ${unknown}`
        const who = el.identity
        if (!isObject(who)) return `${at}.identity is required`
        if (who.productKey !== productKey || who.deviceName !== deviceName)
            return `${at}.identity is not the device's own (a directly connected device reports only its own history)`
        if (el.properties === undefined && el.events === undefined)
            return `${at} has neither properties nor events`
        if (el.properties !== undefined) {
            const why = entriesProblem(
                el.properties,
                `${at}.properties`,
                now,
                false
            )
            if (why) return why
        }
        if (el.events !== undefined) {
            const why = entriesProblem(el.events, `${at}.events`, now, true)
            if (why) return why
        }
    }
    return undefined
}

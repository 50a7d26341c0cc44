/**
 * Topic classes as a product has them: a topic written with the console's
 * `${productKey}`/`${deviceName}` placeholders and a permission (`pub`,
 * `sub` or `all`). A device may publish only to a class with `pub` or `all`
 * permission, expanded for its own product key and name. Pure: parsing of a
 * topics file and matching; the channel server answers the refusals.
 */
import { parseJsonQuietly, lineColumn } from "../lib/json-error.ts"

/** What a device may do with a topic: publish, subscribe, or both. */
export type TopicPermission = "pub" | "sub" | "all"
const PERMISSIONS: readonly TopicPermission[] = ["pub", "sub", "all"]

/** A topic class: a topic template and its permission. */
export interface TopicClass {
    /** e.g. `/${productKey}/${deviceName}/user/update` */
    topic: string
    permission: TopicPermission
}

const PK = "${productKey}"
const DN = "${deviceName}"

/** The user topic classes a new product gets. */
export const DEFAULT_TOPIC_CLASSES: readonly TopicClass[] = [
    { topic: `/${PK}/${DN}/user/update`, permission: "pub" },
    { topic: `/${PK}/${DN}/user/update/error`, permission: "pub" },
    { topic: `/${PK}/${DN}/user/get`, permission: "sub" },
]

/** System topics a device publishes on (thing model, firmware version report). */
export const SYSTEM_TOPIC_CLASSES: readonly TopicClass[] = [
    { topic: `/sys/${PK}/${DN}/thing/event/property/post`, permission: "pub" },
    {
        topic: `/sys/${PK}/${DN}/thing/event/property/history/post`,
        permission: "pub",
    },
    { topic: `/sys/${PK}/${DN}/thing/deviceinfo/update`, permission: "pub" },
    { topic: `/ota/device/inform/${PK}/${DN}`, permission: "pub" },
]

/** The firmware version report topic of a device. */
export const informTopic = (productKey: string, deviceName: string) =>
    `/ota/device/inform/${productKey}/${deviceName}`

/** A custom class must lie under this prefix, as in the console. */
export const CUSTOM_PREFIX = `/${PK}/${DN}/user/`
/** At most this many custom classes in a topics file. */
export const MAX_CUSTOM_CLASSES = 1000
/** At most this long, a custom topic template. */
export const MAX_TEMPLATE_LENGTH = 256

/** The template filled in for one device. */
export function expandTopic(
    template: string,
    productKey: string,
    deviceName: string
): string {
    return template.split(PK).join(productKey).split(DN).join(deviceName)
}

/**
 * The permission of `topic` for the device (`undefined` when no class
 * defines it). Matching is exact after expansion: no wildcards.
 */
export function topicPermission(
    classes: readonly TopicClass[],
    topic: string,
    productKey: string,
    deviceName: string
): TopicPermission | undefined {
    for (const c of classes)
        if (expandTopic(c.topic, productKey, deviceName) === topic)
            return c.permission
    return undefined
}

/** Whether a device may publish to a topic of this permission. */
export const canPublish = (p: TopicPermission | undefined) =>
    p === "pub" || p === "all"

/** A topics file (or option) that cannot be used; names the entry and line. */
export class TopicClassError extends Error {}

/**
 * Why a custom class is not acceptable (undefined when it is): an object
 * with exactly `topic` and `permission`; the topic under
 * `/${productKey}/${deviceName}/user/`, then levels of letters, digits and
 * `_`, no wildcards.
 */
export function customClassProblem(x: unknown): string | undefined {
    if (typeof x !== "object" || x === null || Array.isArray(x))
        return 'must be an object {"topic", "permission"}'
    const o = x as Record<string, unknown>
    const extra = Object.keys(o).filter(
        k => k !== "topic" && k !== "permission"
    )
    if (extra.length) return `unknown field(s) ${extra.join(", ")}`
    if (typeof o.topic !== "string") return "topic must be a string"
    if (!PERMISSIONS.includes(o.permission as TopicPermission))
        return "permission must be pub, sub or all"
    if (o.topic.length > MAX_TEMPLATE_LENGTH)
        return `topic is longer than ${MAX_TEMPLATE_LENGTH} characters`
    if (!o.topic.startsWith(CUSTOM_PREFIX))
        return `topic must start with ${CUSTOM_PREFIX}`
    const rest = o.topic.slice(CUSTOM_PREFIX.length)
    if (!/^[A-Za-z0-9_]+(\/[A-Za-z0-9_]+)*$/.test(rest))
        return `topic after ${CUSTOM_PREFIX} must be levels of letters, digits and _ separated by single /`
    return undefined
}

/**
 * Validates custom classes (from a file or an option) and returns them;
 * throws TopicClassError naming the first bad entry (1-based) and, when
 * known, its line. A class may not repeat a default, a system class or
 * another custom one.
 */
export function validateCustomClasses(
    list: unknown,
    lines: number[] = []
): TopicClass[] {
    if (!Array.isArray(list))
        throw new TopicClassError(
            'topic classes must be a JSON array of {"topic", "permission"}'
        )
    if (list.length > MAX_CUSTOM_CLASSES)
        throw new TopicClassError(
            `at most ${MAX_CUSTOM_CLASSES} topic classes, got ${list.length}`
        )
    const seen = new Set(
        [...DEFAULT_TOPIC_CLASSES, ...SYSTEM_TOPIC_CLASSES].map(c => c.topic)
    )
    return list.map((x, k) => {
        const where = `entry ${k + 1}${lines[k] ? ` (line ${lines[k]})` : ""}`
        const why = customClassProblem(x)
        if (why) throw new TopicClassError(`${where}: ${why}`)
        const c = x as TopicClass
        if (seen.has(c.topic))
            throw new TopicClassError(
                `${where}: topic ${c.topic} is already defined`
            )
        seen.add(c.topic)
        return { topic: c.topic, permission: c.permission }
    })
}

/** Offsets of the elements of the top-level array of a valid JSON text. */
function topLevelElementOffsets(text: string): number[] {
    const out: number[] = []
    let depth = 0
    let expectElement = false
    for (let i = 0; i < text.length; i++) {
        const c = text[i]
        if (" \t\n\r".includes(c)) continue
        if (depth === 1 && expectElement && c !== "]") out.push(i)
        expectElement = false
        if (c === '"') {
            for (i++; i < text.length && text[i] !== '"'; i++)
                if (text[i] === "\\") i++
        } else if (c === "[" || c === "{") {
            depth++
            if (depth === 1) expectElement = true
        } else if (c === "]" || c === "}") depth--
        else if (c === "," && depth === 1) expectElement = true
    }
    return out
}

/**
 * Parses a topics file: a JSON array of `{"topic", "permission"}`, e.g.
 * `[{"topic": "/${productKey}/${deviceName}/user/data", "permission": "pub"}]`.
 * Throws TopicClassError naming the line (and column) of a JSON error, or
 * the entry and line of a bad class.
 */
export function parseTopicsFile(text: string): TopicClass[] {
    let doc: unknown
    try {
        doc = parseJsonQuietly(text)
    } catch (e) {
        throw new TopicClassError((e as Error).message)
    }
    const lines = Array.isArray(doc)
        ? topLevelElementOffsets(text).map(o => lineColumn(text, o).line)
        : []
    return validateCustomClasses(doc, lines)
}

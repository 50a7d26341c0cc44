/**
 * What each device setting means, for the generated settings reference.
 * Kept on the host, beside the generator, so the firmware's table
 * (`src/settings-schema.ts`) carries no prose into the bytecode. Every
 * setting of the table needs a note here and every note a setting: the
 * generator refuses either gap.
 */
import { FLASH_QUEUE_SLOTS } from "../../src/settings-schema.ts"

/** A setting's meaning, and its default when the table cannot state it. */
export interface SettingNote {
    meaning: string
    /** shown instead of the table's default (a derived or board default) */
    default?: string
}

/** The platform token's parts share one note. */
const TOKEN_PART: SettingNote = {
    meaning:
        'a part of the platform token, as `"<generation>:<part>"` (see [the token](../design/firmware.md#token))',
}

/** Notes by setting key. */
export const SETTING_NOTES: Record<string, SettingNote> = {
    PRODUCT_KEY: { meaning: "product key from the platform console" },
    DEVICE_NAME: { meaning: "device name" },
    DEVICE_SECRET: { meaning: "device secret (never logged)" },
    CLIENT_ID: {
        meaning: "`clientId` of `/auth`",
        default: "`PRODUCT_KEY.DEVICE_NAME`",
    },
    SIGN_METHOD: { meaning: "how `/auth` is signed" },
    HOST: { meaning: "channel host" },
    PORT: { meaning: "channel port" },
    TOPIC: {
        meaning:
            "where readings go; a refused topic is retried, see [refused topics](../design/firmware.md#refused-readings-and-refused-topics)",
        default:
            "`/PK/DN/user/update` (json), `/sys/PK/DN/thing/event/property/post` (alink)",
    },
    PERIOD_MS: { meaning: "one reading per period, in milliseconds" },
    FORMAT: {
        meaning:
            '`json`: `{"ts":...,"seq":...,"temperature":...}`, a backfill batch is an array of them; `alink`: thing-model property post, a backfill batch is a history post (see [backfill in batches](../design/firmware.md#backfill-in-batches))',
    },
    BUFFER_SIZE: {
        meaning: "readings kept while the link is down (48 bytes of heap each)",
    },
    BATCH_MAX: {
        meaning:
            "most queued readings sent in one request (`1`: one reading a request, no batches)",
    },
    SENSOR: {
        meaning:
            "the sensor driver; without it the board's declared sensor, else every driver is probed in this order (see [boards](../getting-started.md#supported-boards))",
        default: "the board's",
    },
    FLEET_OTA: {
        meaning:
            "`1`: share the socket with the runtime's fleet (OTA) connection (see [socket sharing](../design/fleet-protocol.md#sharing-the-one-socket-and-the-trade-off))",
    },
    FLASH_QUEUE: {
        meaning:
            "readings kept in flash until the platform takes them (`0`: RAM only); beyond it the oldest are dropped and counted (see [the flash queue](../guides/battery.md#the-flash-queue-every-device))",
    },
    SLEEP_S: {
        meaning:
            "battery mode: a reading every so many seconds with deep sleep between (`0`: stay awake); see [battery mode](../guides/battery.md)",
    },
    POST_EVERY: {
        meaning: "battery mode: post the kept readings every so many wakes",
    },
    POST_AGE_S: {
        meaning:
            "battery mode: post also when the oldest kept reading is this old, in seconds (`0`: no limit)",
    },
    SEQ_NEXT: {
        meaning:
            "the next `seq`, written before a number is used, so `seq` continues across boots",
    },
    FQ: {
        meaning:
            "the flash queue's record: its oldest block, how many, their generation, readings dropped",
    },
    BATTERY: {
        meaning:
            "battery mode's state across deep sleeps: wakes since the last post, the last server time and the sleeps asked for since, the backoff",
    },
    AUTH_TOKEN: {
        meaning:
            "the platform token's record: whom it was issued to, when, in how many parts (see [the token](../design/firmware.md#token))",
    },
    AUTH_TOKEN_1: TOKEN_PART,
    AUTH_TOKEN_2: TOKEN_PART,
    AUTH_TOKEN_3: TOKEN_PART,
    AUTH_TOKEN_4: TOKEN_PART,
    AUTH_TOKEN_5: TOKEN_PART,
    AUTH_TOKEN_6: TOKEN_PART,
    "FQ_<n>": {
        meaning: `a block of readings of the flash queue, \`[generation, names, rows...]\`, in the slots \`FQ_0\` ... \`FQ_${FLASH_QUEUE_SLOTS - 1}\``,
    },
}

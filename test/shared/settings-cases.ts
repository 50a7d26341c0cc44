/**
 * Good and bad setting values with the verdict the settings schema gives,
 * run in the DeviceScript VM (test/device/settings-schema.test.ts) and on
 * Node (test/host/settings-schema.test.ts): the same table, the same
 * verdicts. A verdict is `=` and the normalised value as JSON, or `!` and
 * the problem. No imports: both sides load this file.
 */

/** `[key, value as read from settings, verdict]` */
export const SETTING_CASES: [string, any, string][] = [
    // the flash queue's slots FQ_0 ... FQ_39 share one spec
    ["FQ_0", [1, ["t"], [1, 0, 5]], '=[1,["t"],[1,0,5]]'],
    ["FQ_39", [1, ["t"], [1, 0, 5]], '=[1,["t"],[1,0,5]]'],
    ["FQ_40", [1, ["t"], [1, 0, 5]], "!unknown setting"],
    ["FQ_07", [1, ["t"], [1, 0, 5]], "!unknown setting"],
    ["FQ_x", [1, ["t"], [1, 0, 5]], "!unknown setting"],
    ["PRODUCT_KEY", "a1GFjLP3xxC", '="a1GFjLP3xxC"'],
    ["PRODUCT_KEY", "", "!PRODUCT_KEY is missing"],
    ["PRODUCT_KEY", null, "!PRODUCT_KEY is missing"],
    [
        "PRODUCT_KEY",
        12345,
        '!PRODUCT_KEY is a number; write it in quotes in .env ("...")',
    ],
    [
        "PRODUCT_KEY",
        "a/b",
        "!PRODUCT_KEY contains a character that is not allowed (printable ASCII without space, none of /?#+)",
    ],
    [
        "PRODUCT_KEY",
        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklm",
        "!PRODUCT_KEY must have 1..64 characters",
    ],
    [
        "DEVICE_NAME",
        "caf\u00e9",
        "!DEVICE_NAME contains a character that is not allowed (printable ASCII without space, none of /?#+)",
    ],
    ["DEVICE_SECRET", "s3cr3t-VALUE", '="s3cr3t-VALUE"'],
    [
        "DEVICE_SECRET",
        "s p",
        "!DEVICE_SECRET contains a character that is not allowed (printable ASCII without space)",
    ],
    ["DEVICE_SECRET", true, "!DEVICE_SECRET must be text"],
    ["CLIENT_ID", undefined, "=undefined"],
    ["CLIENT_ID", "AA:BB:CC", '="AA:BB:CC"'],
    ["SIGN_METHOD", undefined, '="hmacsha1"'],
    ["SIGN_METHOD", "HMACMD5", '="hmacmd5"'],
    ["SIGN_METHOD", "hmacsha256", '="hmacsha256"'],
    [
        "SIGN_METHOD",
        "sha512",
        "!SIGN_METHOD is not hmacsha1, hmacmd5 or hmacsha256",
    ],
    ["HOST", "", '="iot-as-http.cn-shanghai.aliyuncs.com"'],
    ["HOST", "127.0.0.1", '="127.0.0.1"'],
    ["HOST", "a b", "!HOST is not a host name or IPv4 address"],
    ["HOST", "[::1]", "!HOST is not a host name or IPv4 address"],
    ["PORT", "8443", "=8443"],
    ["PORT", 8443, "=8443"],
    ["PORT", "443x", "!PORT is not a whole number in 1..65535"],
    ["PORT", "0", "!PORT is not a whole number in 1..65535"],
    ["PORT", 65536, "!PORT is not a whole number in 1..65535"],
    ["PORT", 1.5, "!PORT is not a whole number in 1..65535"],
    ["PORT", "-1", "!PORT is not a whole number in 1..65535"],
    ["TOPIC", "/pk/dn/user/update", '="/pk/dn/user/update"'],
    ["TOPIC", "pk/dn", "!TOPIC: topic must start with '/'"],
    ["TOPIC", "/a?b", "!TOPIC: topic must not contain '?' (no query string)"],
    ["TOPIC", "/a/#", "!TOPIC: topic must not contain MQTT wildcards (# +)"],
    ["TOPIC", "/a//b", "!TOPIC: topic has an empty level"],
    ["TOPIC", "/a/", "!TOPIC: topic has an empty level"],
    ["TOPIC", "/a b", "!TOPIC: topic contains a space or control character"],
    ["PERIOD_MS", "999", "!PERIOD_MS is not a whole number in 1000..86400000"],
    ["PERIOD_MS", "86400000", "=86400000"],
    ["PERIOD_MS", undefined, "=60000"],
    ["FORMAT", "ALINK", '="alink"'],
    ["FORMAT", "xml", "!FORMAT is not json or alink"],
    ["BUFFER_SIZE", "256", "=256"],
    ["BUFFER_SIZE", "257", "!BUFFER_SIZE is not a whole number in 1..256"],
    ["BATCH_MAX", undefined, "=32"],
    ["BATCH_MAX", "1", "=1"],
    ["BATCH_MAX", 64, "=64"],
    ["BATCH_MAX", "0", "!BATCH_MAX is not a whole number in 1..256"],
    ["BATCH_MAX", "257", "!BATCH_MAX is not a whole number in 1..256"],
    ["BATCH_MAX", "8.5", "!BATCH_MAX is not a whole number in 1..256"],
    ["SENSOR", "shtc3", '="SHTC3"'],
    ["SENSOR", "PROBE", '="probe"'],
    ["SENSOR", "DHT22", "!SENSOR is not SHTC3, SHT30, AHT20, BME680 or probe"],
    ["FLEET_OTA", "1", "=true"],
    ["FLEET_OTA", 0, "=false"],
    ["FLEET_OTA", "false", "=false"],
    ["FLEET_OTA", "yes", "!FLEET_OTA is not 1 or 0"],
    ["FLEET_OTA", undefined, "=false"],
    ["FLASH_QUEUE", undefined, "=32"],
    ["FLASH_QUEUE", "0", "=0"],
    ["FLASH_QUEUE", "256", "=256"],
    ["FLASH_QUEUE", "257", "!FLASH_QUEUE is not a whole number in 0..256"],
    ["SLEEP_S", undefined, "=0"],
    ["SLEEP_S", "600", "=600"],
    ["SLEEP_S", "86401", "!SLEEP_S is not a whole number in 0..86400"],
    ["SLEEP_S", "-5", "!SLEEP_S is not a whole number in 0..86400"],
    ["POST_EVERY", undefined, "=6"],
    ["POST_EVERY", "1", "=1"],
    ["POST_EVERY", "0", "!POST_EVERY is not a whole number in 1..1000"],
    ["POST_AGE_S", undefined, "=0"],
    ["POST_AGE_S", "3600", "=3600"],
    ["POST_AGE_S", "604801", "!POST_AGE_S is not a whole number in 0..604800"],
]

/** The verdict text of a {@link SETTING_CASES} row's check. */
export function verdictText(r: { value?: any; problem?: string }): string {
    if (r.problem) return "!" + r.problem
    if (r.value === undefined) return "=undefined"
    return "=" + JSON.stringify(r.value)
}

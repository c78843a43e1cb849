"""Synthetic values of the types hoop sends in binary, as SQL expressions, and the
session settings under which some of them print differently. Used by
scripts/lib/binary_cases.py (the Swift unit tests' server cases) and by
integration/test_ring_binary.py (the ring against the server)."""

# Each expression is one value.
VALUES = [
    "true", "false",
    "0::int2", "'-32768'::int2", "32767::int2", "42::int4", "'-2147483648'::int4", "2147483647::int4",
    "0::int8", "'-9223372036854775808'::int8", "9223372036854775807::int8", "4294967295::oid", "12::oid",
    "1.5::float4", "-0.1::float4", "3.4028235e38::float4", "1e-45::float4", "'NaN'::float4", "'-Infinity'::float4",
    "0.1::float8", "-1.7976931348623157e308::float8", "5e-324::float8", "'Infinity'::float8", "'-0'::float8",
    "0::numeric", "0.000::numeric", "1::numeric", "-1::numeric", "10000::numeric", "100000000::numeric",
    "12345.6789::numeric", "-0.0001::numeric", "0.00001::numeric", "123456789012345678901234567890.123456789::numeric",
    "1e-30::numeric", "99999999::numeric", "'NaN'::numeric", "'Infinity'::numeric", "'-Infinity'::numeric", "3.14159::numeric(10,2)",
    "''::text", "'plain text'::text", "'line1\nline2 ü 日本'::text", "'padded'::char(10)", "'v'::varchar(5)", "'pg_class'::name",
    "'a'::\"char\"", "''::\"char\"", "chr(200)::\"char\"",
    "''::bytea", "'\\x00ff10'::bytea", "'plain'::bytea",
    "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid", "'00000000-0000-0000-0000-000000000000'::uuid",
    "'2024-03-05'::date", "'2000-01-01'::date", "'1999-12-31'::date", "'0044-03-15 BC'::date", "'4713-01-01 BC'::date",
    "'294276-12-31'::date", "'infinity'::date", "'-infinity'::date", "'1582-10-04'::date", "'2024-02-29'::date",
    "'00:00:00'::time", "'23:59:59.999999'::time", "'24:00:00'::time", "'12:34:56.5'::time", "'08:00:00.001'::time(3)",
    "'10:00:00+01'::timetz", "'10:00:00-05:30'::timetz", "'23:59:59.25+14'::timetz",
    "'2024-03-05 10:11:12'::timestamp", "'2024-03-05 10:11:12.000001'::timestamp", "'1970-01-01 00:00:00'::timestamp",
    "'0044-03-15 12:00:00 BC'::timestamp", "'infinity'::timestamp", "'-infinity'::timestamp", "'294276-12-31 23:59:59.999999'::timestamp",
    "'2024-03-05 10:11:12+00'::timestamptz", "'2024-07-01 23:30:00.5+02'::timestamptz", "'1800-01-01 00:00:00 UTC'::timestamptz",
    "'0044-03-15 12:00:00+00 BC'::timestamptz", "'infinity'::timestamptz",
    "'0'::interval", "'1 year 2 months 3 days 04:05:06.789'::interval", "'-1 days +02:03:00'::interval", "'-04:05:06'::interval",
    "'100 years'::interval", "'1 mon -1 day'::interval", "'2562047788 hours'::interval", "'-1.5 seconds'::interval", "'13 mons'::interval",
    "'{}'::json", "'{\"a\": [1, 2.5, null, \"x\"]}'::json", "'[1,2]'::jsonb", "'{\"b\": {\"c\": true}, \"a\": \"ü\"}'::jsonb", "'null'::jsonb",
    "'{}'::int4[]", "'{1,2,3}'::int4[]", "'{{1,2},{3,4}}'::int8[]", "'[0:1]={7,8}'::int2[]", "'[-2:-1][3:4]={{1,2},{3,4}}'::int4[]",
    "'{1,NULL,3}'::int4[]", "ARRAY[NULL]::text[]", "'{a,\"b c\",\"d,e\",\"f\\\\\\\"g\",\"NULL\",\"\"}'::text[]", "'{t,f}'::bool[]",
    "ARRAY[1.5,2.25,-0.001]::numeric[]", "ARRAY['2024-03-05'::date, 'infinity']", "ARRAY['2024-03-05 10:11:12+00'::timestamptz]",
    "ARRAY['1 day'::interval, '-00:00:01']", "ARRAY['\\x01ff'::bytea, '']", "ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid]",
    "ARRAY['{\"a\":1}'::jsonb]", "ARRAY['{\"a\": 1}'::json]", "ARRAY[1.5::float8, 'NaN']", "ARRAY[0.5::float4]", "ARRAY['x'::varchar, 'y']",
    "ARRAY['ab'::char(3)]", "ARRAY['12:00:00'::time]", "ARRAY['2024-03-05 10:11:12'::timestamp]", "ARRAY['pg_proc'::name]", "ARRAY[26::oid]",
    "ARRAY['10:00:00+01'::timetz]", "ARRAY['a'::\"char\"]",
]
SETTINGS = [
    ("TimeZone = 'UTC'", None),
    ("TimeZone = 'Asia/Kolkata'", ["'2024-03-05 10:11:12+00'::timestamptz", "ARRAY['2024-03-05 10:11:12+00'::timestamptz]"]),
    ("TimeZone = 'America/St_Johns'", ["'2024-07-01 23:30:00.5+02'::timestamptz"]),
    ("TimeZone = 'Europe/Amsterdam'", ["'1800-01-01 00:00:00 UTC'::timestamptz", "'1900-06-01 12:00:00 UTC'::timestamptz"]),
    ("bytea_output = 'escape'", ["''::bytea", "'\\x00ff105c41'::bytea", "ARRAY['\\x01ff5c'::bytea, '']"]),
]



/// The scalar types PostgreSQL ships: a value cast to one of them is one value. A cast to
/// any other type (an array however spelled, `_int4` as well as `int[]`, a domain or a
/// type of the database's own) may hold many.
/// Generated: select typname from pg_type where typnamespace = 'pg_catalog'::regnamespace
/// and typcategory <> 'A' and typtype <> 'p' and typrelid = 0.
enum BuiltinTypes {
    static let scalar: Set<Substring> = Set(scalarList.split(whereSeparator: { $0 == " " || $0 == "\n" }))

    static let scalarList = """
aclitem bit bool box bpchar bytea char cid cidr circle date datemultirange daterange float4 float8 gtsvector
inet int2 int4 int4multirange int4range int8 int8multirange int8range interval json jsonb jsonpath line lseg
macaddr macaddr8 money name numeric nummultirange numrange oid path pg_brin_bloom_summary
pg_brin_minmax_multi_summary pg_dependencies pg_lsn pg_mcv_list pg_ndistinct pg_node_tree pg_snapshot point
polygon refcursor regclass regcollation regconfig regdictionary regnamespace regoper regoperator regproc
regprocedure regrole regtype text tid time timestamp timestamptz timetz tsmultirange tsquery tsrange
tstzmultirange tstzrange tsvector txid_snapshot uuid varbit varchar xid xid8 xml
"""
}

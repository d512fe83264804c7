#!/usr/bin/env python3
# Generates crates/server/src/config/limits.rs from one table of settings, and prints the rows of
# the limits table of docs/configuration.md. CI regenerates it and fails on a difference.
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEC = {
 'ingest': ('Bounds on what one write may contain, and the writer\'s memory.', [
  ('max_name_bytes','usize','512','Longest measurement, tag (label) or field name, in bytes'),
  ('max_tag_value_bytes','usize','4096','Longest tag (label) value, in bytes'),
  ('max_tags_per_series','usize','64','Most tags (labels) one series may have'),
  ('max_series_key_bytes','usize','65536','Longest series key (measurement and every tag), in bytes'),
  ('max_fields_per_line','usize','1000','Most fields one line may carry'),
  ('max_string_field_bytes','usize','65536','Longest string field value, in bytes'),
  ('max_columns_per_measurement','usize','1000','Most columns (tags and fields) a measurement may have'),
  ('max_idempotency_key_bytes','usize','256','Longest Idempotency-Key header, in bytes'),
  ('max_queue_bytes','usize','268435456','Memory of writes being prepared, queued or committed; more gets 503'),
  ('series_cache_bytes','usize','134217728','Memory of the writer\'s cache of series ids'),
  ('catalog_cache_bytes','usize','33554432','Memory of the writer\'s cache of databases and columns'),
  ('write_timeout','duration','"30s"','How long one write may wait on storage (retries and an unreachable cluster included) before it gets 503'),
 ]),
 'query': ('Bounds on what one query may cost, and how many run at once.', [
  ('default_timeout','duration','"60s"','Deadline of a query whose client names none'),
  ('max_timeout','duration','"5m"','Longest deadline a client may ask for (PromQL `timeout`)'),
  ('max_query_bytes','usize','262144','Longest query text (SQL, PromQL, match[]), in bytes'),
  ('max_expression_depth','usize','128','Deepest PromQL bracket nesting (8 times as many operators)'),
  ('max_samples','u64','50000000','Most samples (and subquery points) one PromQL query may load'),
  ('max_series','u64','1000000','Most series one selector or metadata call may select'),
  ('max_steps','u64','1000000','Most evaluation steps of one PromQL node (range query or subquery)'),
  ('max_concurrent_per_database','usize','8','Queries one database may run at once; more wait, then get 429'),
  ('max_concurrent','usize','64','Queries the node runs at once over all databases'),
  ('queue_timeout','duration','"10s"','How long a query waits for a slot before it is refused'),
  ('max_function_output_bytes','usize','67108864','Most bytes a growing scalar function (repeat, lpad, concat, ...) may produce per batch'),
  ('threads','usize','0','Worker threads of the query runtime (0: one per core)'),
 ]),
 'http': ('Bounds of the listener and of request bodies.', [
  ('max_connections','usize','4096','Open connections at most; further ones are closed at once'),
  ('header_read_timeout','duration','"10s"','Time a client has to send a request\'s headers'),
  ('idle_timeout','duration','"6m"','A connection with no bytes read or written for this long is closed'),
  ('body_timeout','duration','"60s"','Time a client has to send a request body'),
  ('max_query_body_bytes','usize','1048576','Largest body of a query request (SQL, PromQL, InfluxQL); 413 above'),
  ('max_flight_message_bytes','usize','16777216','Largest incoming Flight SQL message (statements, tickets, bound parameters)'),
  ('max_concurrent_streams','u32','256','HTTP/2 (and Flight SQL) requests one connection may have open at once'),
  ('metrics_auth','auth','token','Who may read `/metrics` and `/api/v1/status/buildinfo`: `token` (a valid token, once authentication is on) or `open` (anyone)'),
 ]),
}

def rust_type(t):
    return {'usize':'usize','u64':'u64','u32':'u32','duration':'String','auth':'MetricsAuth'}[t]

def default_expr(t, d):
    if t=='duration': return f'{d}.into()'
    return d.replace('_','') if False else d

out = []
out.append('''//! The limits sections of the configuration (`[ingest]`, `[query]`, `[http]`): every bound
//! on what a request may cost, as a flag, a `TIDEMARK_*` variable and a file key.
//!
//! Generated from one table by `.ci/gen-limits.py` (kept with the CI scripts), so the flags,
//! variables, file keys and defaults cannot drift apart; `docs/configuration.md` lists them,
//! and a test checks that every flag is documented there.

use clap::Args;
use serde::{Deserialize, Serialize};

use super::{ConfigError, MetricsAuth, parse_duration};
''')
for section,(doc,items) in SPEC.items():
    cap = section.capitalize()
    # Args
    out.append(f'/// `[{section}]` flags. {doc}')
    out.append('#[derive(Debug, Clone, Default, Args)]')
    out.append(f'pub struct {cap}Args {{')
    for name,t,d,help_ in items:
        flag = f'{section}-{name}'.replace('_','-')
        env = f'TIDEMARK_{section.upper()}_{name.upper()}'
        dd = d.strip('"')
        out.append(f'    /// {help_} [default: {dd}].')
        vn = {'duration':'DURATION','auth':'MODE'}.get(t, 'BYTES' if name.endswith('bytes') else 'N')
        out.append(f'    #[arg(long = "{flag}", env = "{env}", value_name = "{vn}")]')
        out.append(f'    pub {section}_{name}: Option<{rust_type(t)}>,')
    out.append('}\n')
    # File
    out.append(f'/// The `[{section}]` section of the file.')
    out.append('#[derive(Debug, Default, Deserialize)]')
    out.append('#[serde(deny_unknown_fields)]')
    out.append(f'pub(super) struct File{cap} {{')
    for name,t,d,help_ in items:
        out.append(f'    {name}: Option<{rust_type(t)}>,')
    out.append('}\n')
    # Settings
    out.append(f'/// The effective `[{section}]` settings. {doc}')
    out.append('#[derive(Debug, Clone, PartialEq, Eq, Serialize)]')
    out.append(f'pub struct {cap}Settings {{')
    for name,t,d,help_ in items:
        out.append(f'    /// {help_}.')
        out.append(f'    pub {name}: {rust_type(t)},')
    out.append('}\n')
    out.append(f'impl {cap}Settings {{')
    out.append(f'    /// Flags and environment over the file over the defaults.')
    out.append(f'    pub(super) fn resolve(args: &{cap}Args, file: File{cap}) -> Result<Self, ConfigError> {{')
    out.append('        let settings = Self {')
    for name,t,d,help_ in items:
        dv = f'{d}.into()' if t=='duration' else d
        if t=='auth':
            dv = f'MetricsAuth::{d.capitalize()}'
        if t!='duration':
            # add underscores for readability of big numbers
            try:
                n=int(d); dv=f'{n:_}'
            except: pass
        if t=='duration':
            out.append(f'            {name}: args.{section}_{name}.clone().or(file.{name}).unwrap_or_else(|| {dv}),')
        else:
            out.append(f'            {name}: args.{section}_{name}.or(file.{name}).unwrap_or({dv}),')
    out.append('        };')
    durs=[n for n,t,d,h in items if t=='duration']
    for n in durs:
        out.append(f'        parse_duration("{section}.{n}", &settings.{n})?;')
    out.append('        Ok(settings)')
    out.append('    }')
    out.append('}\n')
target = os.path.join(ROOT, 'crates/server/src/config/limits.rs')
open(target, 'w').write('\n'.join(out))
subprocess.run(['rustfmt', '--edition', '2024', target], check=True)
# docs rows
rows=[]
for section,(doc,items) in SPEC.items():
    for name,t,d,help_ in items:
        flag = f'--{section}-{name}'.replace('_','-')
        env = f'TIDEMARK_{section.upper()}_{name.upper()}'
        rows.append(f'| `{section}.{name}` | `{flag}` | `{env}` | `{d.strip(chr(34))}` | {help_} |')
print('\n'.join(rows))

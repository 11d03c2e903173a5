/*
 * spool_pg_url_masked (src/spool_pg_url.c): every password libpq would
 * read from the spool's URL is hidden, in each form libpq reads one, and
 * the rest is shown as written.
 */
#include <string.h>

#include "spool_pg.h"
#include "tap.h"

static const char *
masked(const char *url)
{
	static char buf[512];

	spool_pg_url_masked(url, buf, sizeof(buf));
	return buf;
}

static void
test_uri(void)
{
	is_str(masked("postgresql://relay@db/formrelay"),
	       "postgresql://relay@db/formrelay", "uri: no password: as it is");
	is_str(masked("postgresql://relay:s3cret@db1,db2:5433/formrelay"
	              "?target_session_attrs=read-write"),
	       "postgresql://relay:***@db1,db2:5433/formrelay"
	       "?target_session_attrs=read-write",
	       "uri: user:password@ masked, several hosts kept");
	is_str(masked("postgres://relay@db/f?sslmode=require&password=s3cret"),
	       "postgres://relay@db/f?sslmode=require&password=***",
	       "uri: ?password= masked");
	is_str(masked("postgresql://relay@db/f?%70assword=s3cret&x=1"),
	       "postgresql://relay@db/f?%70assword=***&x=1",
	       "uri: a percent-encoded name is libpq's password too");
	is_str(masked("postgresql://relay:a@db/f?password=b"),
	       "postgresql://relay:***@db/f?password=***",
	       "uri: both places at once");
	is_str(masked("postgresql://relay@db?passfile=/etc/formrelay/pgpass"),
	       "postgresql://relay@db?passfile=/etc/formrelay/pgpass",
	       "uri: passfile is a path, shown");
	is_str(masked("postgresql://db?password"), "postgresql://db?password",
	       "uri: a name without a value");
}

static void
test_conninfo(void)
{
	is_str(masked("host=db dbname=formrelay"), "host=db dbname=formrelay",
	       "conninfo: no password: as it is");
	is_str(masked("password=s3cret host=db"), "password=*** host=db",
	       "conninfo: the password first");
	is_str(masked("host=db password = 's3 \\' cret' user=relay"),
	       "host=db password=*** user=relay",
	       "conninfo: quoted, with spaces and an escaped quote");
	is_str(masked("host=db password=s3\\ cret"), "host=db password=***",
	       "conninfo: an escaped space");
	is_str(masked("host=db s3cret"), "host=db (the rest hidden)",
	       "conninfo: what libpq would refuse is not shown");
}

static void
test_bounded(void)
{
	char small[12];

	memset(small, 'x', sizeof(small));
	spool_pg_url_masked("postgresql://relay:s3cret@db/formrelay", small,
	                    sizeof(small));
	is_str(small, "postgresql:", "cut to the buffer, terminated");
	spool_pg_url_masked("host=db password=s3cret", small, sizeof(small));
	ok(strstr(small, "s3") == NULL, "cut: never a part of the password");
}

int
main(void)
{
	test_uri();
	test_conninfo();
	test_bounded();
	return done_testing();
}

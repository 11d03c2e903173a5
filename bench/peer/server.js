// The peer: what people deploy instead of formrelay -- an Express
// endpoint that parses the form and hands it to Customer.io's Node
// library (@customerio/cdp-analytics-node), which batches identify calls
// in memory and posts them to <host>/v1/batch in the background.
//
// Written the way its README and a typical tutorial do it, with the
// traits and context formrelay sends (email, name, utm_* as
// context.campaign, ip, userAgent), so both do comparable work.  Note
// what it does not do: nothing is on disk when it answers 202 (a crash
// loses the queued batch), no normalisation beyond trimming the email.
//
//   PORT=8080 CIO_HOST=http://127.0.0.1:9000 PEER_PROCS=2 node server.js
//
// PEER_PROCS workers (node:cluster) share the port, like the two
// FastCGI processes lighttpd runs for the floor and formrelay.
'use strict';

const cluster = require('node:cluster');
const express = require('express');
const { Analytics } = require('@customerio/cdp-analytics-node');

const port = Number(process.env.PORT || 0);
const procs = Number(process.env.PEER_PROCS || 2);

function campaignOf(body) {
	const c = {};
	for (const k of ['source', 'medium', 'campaign', 'term', 'content']) {
		const v = body['utm_' + k];
		if (v) c[k === 'campaign' ? 'name' : k] = v;
	}
	return Object.keys(c).length ? c : undefined;
}

function traitsOf(body) {
	const traits = {};
	for (const [k, v] of Object.entries(body)) {
		if (k === 'entryId' || k.startsWith('utm_') || k.startsWith('_') ||
		    v === '') continue;
		traits[k] = v;
	}
	if (traits.email) traits.email = String(traits.email).trim().toLowerCase();
	return traits;
}

function worker() {
	const analytics = new Analytics({
		writeKey: process.env.CIO_API_KEY || 'bench_key',
		host: process.env.CIO_HOST || 'https://cdp.customer.io',
		path: '/v1/batch',
	});
	analytics.on('error', (err) => console.error('peer: delivery:', err.message || err));

	const app = express();
	app.disable('x-powered-by');
	app.use(express.urlencoded({ extended: false, limit: '64kb' }));
	app.use(express.json({ limit: '64kb' }));
	app.post('/formrelay', (req, res) => {
		const body = req.body || {};
		const traits = traitsOf(body);
		const userId = body.entryId || traits.email;
		if (!userId) {
			res.status(422).json({ ok: false, error: 'missing_id' });
			return;
		}
		analytics.identify({
			userId,
			traits,
			context: {
				ip: req.ip,
				userAgent: req.get('user-agent'),
				page: { url: req.get('referer') },
				campaign: campaignOf(body),
			},
		});
		res.status(202).json({ ok: true });
	});
	const server = app.listen(port, '127.0.0.1');
	const stop = () => {
		server.close();
		analytics.closeAndFlush({ timeout: 5000 }).then(() => process.exit(0));
	};
	process.on('SIGTERM', stop);
	process.on('SIGINT', stop);
}

if (cluster.isPrimary && procs > 1) {
	for (let i = 0; i < procs; i++) cluster.fork();
	const stop = () => {
		for (const w of Object.values(cluster.workers)) w.process.kill('SIGTERM');
	};
	process.on('SIGTERM', stop);
	process.on('SIGINT', stop);
	cluster.on('exit', () => {
		if (Object.keys(cluster.workers).length === 0) process.exit(0);
	});
} else {
	worker();
}

// Package control is Evercast's control channel: a versioned JSON protocol
// over websockets that operator consoles, merchants, platforms and the
// playout process speak with the server. The protocol itself is written down
// in docs/control-protocol.md; this package implements both ends of it.
//
// The server end is a Hub. Components report what happens by calling
// Publish; the Hub numbers every event with a global sequence number, keeps
// the most recent ones in a ring so that a client that reconnects resumes
// exactly where it stopped, and fans each event out to the connections
// subscribed to its session without ever blocking the publisher: a
// connection that cannot keep up is closed rather than allowed to stall the
// others. Handler serves one websocket connection per request: it
// authenticates the caller through an Authenticator, enforces what the
// caller's role may see and do (a merchant only its own sessions, looked up
// through Sessions), runs commands through a Commander and viewer comments
// through a CommentSink, and lets a remote playout process register as the
// executor of commands that the Hub then forwards to it (Hub.Forward).
//
// The client end is Client (Dial): it subscribes, receives events, sends
// commands, comments and published events, serves forwarded commands, and
// with ClientOptions.Reconnect reconnects on its own and resumes from the
// last event it delivered, so a short drop loses nothing and repeats nothing.
package control

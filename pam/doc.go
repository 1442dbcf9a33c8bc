// Package pam is the heart of the participant server side of MIX
// (XEP-0405): it joins and leaves channels on the user's behalf
// (client-join and client-leave, §2.6–2.8, keeping the roster in step,
// §2.9) and fans groupchat from channels out to the user's MIX-capable
// clients (§2.2).
package pam

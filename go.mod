module kioskwall

go 1.26.0

require (
	github.com/mitchellh/go-vnc v0.0.0-20150629162542-723ed9867aed // indirect
	golang.org/x/image v0.48.0 // indirect
)

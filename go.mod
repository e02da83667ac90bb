module kioskwall

go 1.26

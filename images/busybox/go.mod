module e2e-images/busybox

go 1.19

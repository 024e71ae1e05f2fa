module e2e-images/agnhost

go 1.19
